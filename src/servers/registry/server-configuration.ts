import { MASK } from 'src/config/mask-secrets';
import type { UpstreamAuth } from 'src/config/upstream-auth.schema';
import type { ServerConfigurationInputDto } from '../dto/register-server.dto';
import type { StoredServerConfiguration } from './mcp-server.entity';
import { storedAuth } from './server-auth';

/**
 * `configuration` of a server registered through the API, between the API's input and `mcp_servers.configuration`:
 * the non-secret settings only (environment and header values, and the upstream credential's client secret, are
 * sealed apart by the registry).
 */

export function storedConfiguration(
  c: ServerConfigurationInputDto,
  required?: boolean,
  auth?: UpstreamAuth,
): StoredServerConfiguration {
  return {
    ...(auth ? { auth: storedAuth(auth) } : {}),
    command: c.command,
    args: c.args ?? [],
    url: c.url,
    timeout: c.timeout,
    pool_size: c.pool_size,
    working_directory: c.working_directory,
    required: required ?? false,
  };
}

export function fromStored(c: StoredServerConfiguration): ServerConfigurationInputDto {
  return {
    command: c.command,
    args: c.args,
    url: c.url,
    timeout: c.timeout,
    pool_size: c.pool_size,
    working_directory: c.working_directory,
  };
}

export function withoutSecrets(c: ServerConfigurationInputDto): ServerConfigurationInputDto {
  const { environment: _e, headers: _h, auth: _a, ...rest } = c;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

/** A PUT that sends back the masked values it read keeps the stored ones. */
export function keepMasked(next: Record<string, string>, old: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, v === MASK ? (old[k] ?? v) : v]));
}
