import { Command } from 'commander';
import type { components } from '../api/schema';
import { commaList } from '../arguments';
import { unwrap } from '../client';
import { contextOf } from '../context';
import { CliError, ExitCode } from '../exit-codes';

type Scope = components['schemas']['CreateApiKeyDto']['scopes'][number];
const SCOPES: readonly Scope[] = ['mcp:read', 'mcp:write', 'mcp:admin'];

/** `globalmcp keys create|list|revoke` (mcp:admin). */
export function keysCommand(): Command {
  const keys = new Command('keys').description('API keys (needs mcp:admin)');

  keys
    .command('create <name>')
    .description('create a key; the key itself is printed once, here, and never again')
    .requiredOption('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`)
    .option('--servers <list>', 'comma-separated server ids the key may use (default: every server)')
    .option('--tier <tier>', 'rate-limit tier')
    .option('--expires <date-time>', 'expiry, ISO 8601 (default: never)')
    .action(async (name: string, options: CreateOptions, command: Command) => {
      const { out, connection } = contextOf(command);
      const scopes = commaList(options.scopes) ?? [];
      const unknown = scopes.filter((scope) => !SCOPES.includes(scope as Scope));
      if (scopes.length === 0 || unknown.length > 0) {
        throw new CliError(
          ExitCode.usage,
          `--scopes takes ${SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
        );
      }
      const created = unwrap(
        await connection().api.POST('/api/api-keys', {
          body: {
            name,
            scopes: scopes as Scope[],
            ...(options.servers ? { server_ids: commaList(options.servers) } : {}),
            ...(options.tier ? { tier: options.tier } : {}),
            ...(options.expires ? { expires_at: options.expires } : {}),
          },
        }),
      );
      out.fields(created, {
        id: created.id,
        name: created.name,
        scopes: created.scopes.join(','),
        servers: created.server_ids?.join(',') ?? 'all',
        tier: created.tier,
        expires: created.expires_at,
        key: created.key,
      });
      if (out.format === 'table') process.stderr.write('Keep the key now: it is not shown again.\n');
    });

  keys
    .command('list')
    .description('list keys (prefixes only: keys are never shown again)')
    .action(async (_options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.GET('/api/api-keys'));
      out.table(data, data.api_keys, {
        id: (k) => k.id,
        name: (k) => k.name,
        prefix: (k) => k.prefix,
        scopes: (k) => k.scopes.join(','),
        servers: (k) => k.server_ids?.join(',') ?? 'all',
        tier: (k) => k.tier,
        'last used': (k) => k.last_used_at,
        revoked: (k) => k.revoked_at,
      });
    });

  keys
    .command('revoke <id>')
    .description('revoke a key at once')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.DELETE('/api/api-keys/{id}', { params: { path: { id } } }));
      out.done(data, `revoked ${id}`);
    });

  return keys;
}

interface CreateOptions {
  scopes: string;
  servers?: string;
  tier?: string;
  expires?: string;
}
