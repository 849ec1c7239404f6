import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { AppException } from 'src/common/errors/app.exception';
import { APP_CONFIG } from 'src/config/config.module';
import { PgNotifications } from 'src/database/pg-notifications';
import { McpServersHealth } from 'src/health/mcp-servers.health';
import { serverEntrySchema, type AppConfig, type ServerEntry } from 'src/config/config.schema';
import { errorMessage } from 'src/mcp/connection';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ConfigServersSource } from 'src/config/config-servers.source';
import type {
  RegisterServerDto,
  RegisterServerResultDto,
  ServerConfigurationInputDto,
  UpdateServerDto,
  UpdateServerResultDto,
} from '../dto/register-server.dto';
import type { ServerActionDto } from '../dto/server.dto';
import type { McpServerEntity } from './mcp-server.entity';
import {
  DuplicateServerError,
  McpServersRepository,
  REGISTRY_CHANNEL,
  type NewMcpServer,
} from './mcp-servers.repository';
import { SecretsCipher, type ServerSecrets } from './secrets-cipher';
import { authFromStored, parseAuthInput } from './server-auth';
import { fromStored, keepMasked, storedConfiguration, withoutSecrets } from './server-configuration';
import type { UpstreamAuth } from 'src/config/upstream-auth.schema';
import { UpstreamPolicy } from './upstream-policy';

/** A server registered through the API, as this process runs it. */
export interface ApiServer {
  id: string;
  entry: ServerEntry;
  createdAt: Date;
  updatedAt: Date;
}

const MAX_WAIT_MS = 30_000;
const MAX_SECRET_KEYS = 100;
const MAX_SECRET_VALUE = 8192;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;

/**
 * The servers registered through the API: stored in `mcp_servers` (environment and header values sealed with
 * AES-256-GCM), run by the engine next to the config servers, and kept in agreement across replicas: every write
 * sends `NOTIFY globalmcp_registry, '<id>'` in its transaction, every process LISTENs on a connection of its own and
 * reconciles that id from the database, and a periodic full reconcile catches anything missed.
 */
@Injectable()
export class ServerRegistryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ServerRegistry');
  private readonly servers = new Map<string, ApiServer>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly cipher: SecretsCipher;
  private readonly policy: UpstreamPolicy;
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly reserved: ((id: string) => boolean)[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly engine: McpEngine,
    private readonly configServers: ConfigServersSource,
    private readonly repository: McpServersRepository,
    private readonly notifications: PgNotifications,
    health: McpServersHealth,
  ) {
    const { cipher, generatedAt } = SecretsCipher.load(config.mcp.security.encryptionKey, config.mcp.dataDir);
    if (generatedAt) this.logger.log(`generated the encryption key of secrets at rest: ${generatedAt}`);
    this.cipher = cipher;
    this.policy = new UpstreamPolicy(
      config.mcp.security.stdio.allowedCommands,
      config.mcp.security.allowedUpstreamHosts,
    );
    // Readiness waits for API servers marked `required: true` as for the configuration file's.
    health.addRequiredSource(() =>
      this.list()
        .filter((s) => s.entry.enabled && s.entry.required)
        .map((s) => s.id),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.notifications.subscribe(REGISTRY_CHANNEL, {
      onPayload: (id) =>
        void this.reconcile(id).catch((error: unknown) =>
          this.logger.error(`reconciling server '${id}' failed: ${errorMessage(error)}`),
        ),
      // Changes announced while the connection was down were missed: compare everything.
      onReconnected: () => void this.reconcileAll(),
    });
    await this.reconcileAll();
    const every = this.config.mcp.registry.reconcileInterval;
    if (every > 0) {
      this.timer = setInterval(() => void this.reconcileAll(), every);
      this.timer.unref();
    }
    this.logger.log(`started ${this.servers.size} server(s) registered through the API`);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  list(): ApiServer[] {
    return [...this.servers.values()];
  }

  /** Ids another kind of server holds (virtual servers, src/virtual-servers): `register` refuses them with 409. */
  reserveIds(isReserved: (id: string) => boolean): void {
    this.reserved.push(isReserved);
  }

  get(id: string): ApiServer | undefined {
    return this.servers.get(id);
  }

  // ------------------------------------------------------------------ API

  async register(dto: RegisterServerDto): Promise<RegisterServerResultDto> {
    this.assertNotConfig(dto.id);
    if (this.reserved.some((isReserved) => isReserved(dto.id))) {
      throw AppException.conflict(`'${dto.id}' is the id of a virtual server: a server needs an id of its own`, {
        server_id: dto.id,
      });
    }
    const configuration = dto.configuration ?? {};
    const auth = configuration.auth !== undefined ? parseAuthInput(configuration.auth, undefined) : undefined;
    const row: NewMcpServer = {
      id: dto.id,
      name: dto.name ?? dto.id,
      description: dto.description ?? null,
      type: dto.type,
      enabled: dto.enabled ?? true,
      configuration: storedConfiguration(configuration, dto.required, auth),
      secrets: null,
    };
    const secrets: ServerSecrets = {
      environment: configuration.environment ?? {},
      headers: configuration.headers ?? {},
      ...(auth?.clientSecret !== undefined ? { authClientSecret: auth.clientSecret } : {}),
    };
    await this.check(row, secrets, auth);
    row.secrets = this.cipher.seal(secrets, row.id);
    const started = performance.now();
    let saved: McpServerEntity;
    try {
      saved = await this.repository.insert(row);
    } catch (error) {
      if (error instanceof DuplicateServerError)
        throw AppException.conflict(`Server '${dto.id}' already exists`, { server_id: dto.id });
      throw error;
    }
    await this.serial(dto.id, () => this.apply(dto.id, saved));
    let status = 'inactive';
    if (row.enabled) {
      const bound = Math.min(row.configuration.timeout ?? this.config.mcp.client.defaultTimeout, MAX_WAIT_MS);
      status = (await this.engine.waitUntilReady(dto.id, bound)).status;
    }
    const initialization = Math.round(performance.now() - started);
    return {
      id: dto.id,
      status: 'registered',
      message:
        status === 'active'
          ? `Server ${dto.id} registered and active`
          : `Server ${dto.id} registered; it is ${status}${row.enabled ? ' (still connecting or failing: see GET /api/servers/' + dto.id + ')' : ' (disabled)'}`,
      initialization_time_ms: initialization,
      server_status: status,
    };
  }

  async update(id: string, dto: UpdateServerDto): Promise<UpdateServerResultDto> {
    this.assertNotConfig(id);
    const existing = await this.repository.findById(id);
    if (!existing) throw AppException.notFound(`Server '${id}'`, { server_id: id });
    const old = existing.secrets ? this.cipher.open(existing.secrets, id) : { environment: {}, headers: {} };
    const patch = dto.configuration ?? {};
    const configuration: ServerConfigurationInputDto = {
      ...fromStored(existing.configuration),
      ...withoutSecrets(patch),
    };
    // A PUT without `auth` keeps the stored one; with it, it replaces it (a `***` client secret keeps the stored secret).
    const auth =
      patch.auth !== undefined
        ? parseAuthInput(patch.auth, old.authClientSecret)
        : existing.configuration.auth
          ? authFromStored(existing.configuration.auth, old.authClientSecret)
          : undefined;
    const secrets: ServerSecrets = {
      environment: patch.environment ? keepMasked(patch.environment, old.environment) : old.environment,
      headers: patch.headers ? keepMasked(patch.headers, old.headers) : old.headers,
      ...(auth?.clientSecret !== undefined ? { authClientSecret: auth.clientSecret } : {}),
    };
    const row: NewMcpServer = {
      id,
      name: dto.name ?? existing.name,
      description: dto.description !== undefined ? dto.description : existing.description,
      type: dto.type ?? existing.type,
      enabled: dto.enabled ?? existing.enabled,
      configuration: storedConfiguration(configuration, dto.required ?? existing.configuration.required, auth),
      secrets: null,
    };
    await this.check(row, secrets, auth);
    row.secrets = this.cipher.seal(secrets, id);
    const before = this.toEntry(existing);
    const saved = await this.repository.update(row);
    if (!saved) throw AppException.notFound(`Server '${id}'`, { server_id: id });
    await this.serial(id, () => this.apply(id, saved));
    const restarted = !sameConnection(before, this.toEntry(saved));
    return {
      id,
      status: 'updated',
      message: restarted
        ? `Server ${id} updated; its connections were restarted with the new settings`
        : `Server ${id} updated; its connections were kept (no connection setting changed)`,
      restart_required: false,
      restarted,
    };
  }

  async remove(id: string, force: boolean): Promise<ServerActionDto> {
    this.assertNotConfig(id);
    const existing = await this.repository.findById(id);
    if (!existing) throw AppException.notFound(`Server '${id}'`, { server_id: id });
    const inFlight = this.inFlight(id);
    if (inFlight > 0 && !force)
      throw AppException.conflict(
        `Server '${id}' has ${inFlight} call(s) in flight; retry later or use force=true (they will fail)`,
        { server_id: id, in_flight: inFlight },
      );
    await this.repository.delete(id);
    await this.serial(id, () => this.apply(id, null));
    return {
      id,
      status: 'removed',
      message: `Server ${id} removed${inFlight > 0 ? ` (${inFlight} call(s) cut)` : ''}`,
    };
  }

  // ------------------------------------------------------------------ reconcile

  /** Brings this process in line with the database for one id. */
  reconcile(id: string): Promise<void> {
    return this.serial(id, async () => this.apply(id, await this.repository.findById(id)));
  }

  /** Every row, and every id this process runs that has no row any more. */
  async reconcileAll(): Promise<void> {
    if (this.closed) return;
    try {
      const rows = await this.repository.listAll();
      const ids = new Set(rows.map((r) => r.id));
      await Promise.all([
        ...rows.map((row) => this.serial(row.id, () => this.apply(row.id, row))),
        ...[...this.servers.keys()].filter((id) => !ids.has(id)).map((id) => this.reconcile(id)),
      ]);
    } catch (error) {
      if (!this.closed) this.logger.error(`full reconcile failed: ${errorMessage(error)}`);
    }
  }

  private async apply(id: string, row: McpServerEntity | null): Promise<void> {
    if (this.closed) return;
    const current = this.servers.get(id);
    if (!row) {
      if (!current) return;
      this.servers.delete(id);
      await this.engine.removeServer(id).catch(() => undefined);
      this.logger.log(`server '${id}' removed`);
      return;
    }
    if (current && current.updatedAt.getTime() === row.updatedAt.getTime()) return;
    if (this.configServers.get(id)) {
      this.logger.warn(`server '${id}' is registered through the API and in the configuration file: the file wins`);
      return;
    }
    let entry: ServerEntry;
    try {
      entry = this.toEntry(row);
    } catch (error) {
      this.logger.error(`server '${id}' cannot be loaded: ${errorMessage(error)}`);
      return;
    }
    this.servers.set(id, { id, entry, createdAt: row.createdAt, updatedAt: row.updatedAt });
    // Name, description or `required` alone: what this process shows and readiness reads changes, connections stay.
    if (current && sameConnection(current.entry, entry)) return;
    await this.engine.upsertServer(id, entry);
  }

  private toEntry(row: McpServerEntity): ServerEntry {
    const secrets = row.secrets ? this.cipher.open(row.secrets, row.id) : { environment: {}, headers: {} };
    const c = row.configuration;
    return serverEntrySchema.parse({
      type: row.type,
      name: row.name,
      description: row.description ?? undefined,
      command: c.command,
      args: c.args ?? [],
      url: c.url,
      timeout: c.timeout,
      poolSize: c.pool_size,
      workingDirectory: c.working_directory,
      enabled: row.enabled,
      required: c.required ?? false,
      environment: secrets.environment,
      headers: secrets.headers,
      auth: c.auth ? authFromStored(c.auth, secrets.authClientSecret) : undefined,
    });
  }

  /** One change at a time per id, in order. */
  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(id) ?? Promise.resolve()).catch(() => undefined).then(work);
    this.chains.set(id, next);
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.chains.get(id) === next) this.chains.delete(id);
      });
    return next;
  }

  // ------------------------------------------------------------------ LISTEN

  // ------------------------------------------------------------------ checks

  private assertNotConfig(id: string): void {
    if (this.configServers.get(id))
      throw AppException.conflict(
        `Server '${id}' is defined in the configuration file and is read-only through the API; change the file instead`,
        { server_id: id, source: 'config' },
      );
  }

  private async check(row: NewMcpServer, secrets: ServerSecrets, auth: UpstreamAuth | undefined): Promise<void> {
    const c = row.configuration;
    if (row.type === 'stdio' && auth && auth.mode !== 'static')
      throw AppException.invalid(
        `configuration.auth.mode: ${auth.mode} is for http/sse servers; a stdio server gets its credentials from its environment`,
        [{ field: 'configuration.auth.mode', problems: ['not for stdio'] }],
      );
    // The token endpoint is an outbound URL like the server's own: the same host policy applies.
    if (auth?.tokenEndpoint) await this.policy.checkUrl(auth.tokenEndpoint);
    if (row.type === 'stdio') {
      if (!c.command) throw AppException.invalid('a stdio server needs configuration.command', fieldOf('command'));
      checkSecrets(secrets.environment, 'environment', ENV_NAME);
      this.policy.checkCommand(c.command);
    } else {
      if (!c.url) throw AppException.invalid(`an ${row.type} server needs configuration.url`, fieldOf('url'));
      checkSecrets(secrets.headers, 'headers', HEADER_NAME);
      await this.policy.checkUrl(c.url);
    }
    const parsed = serverEntrySchema.safeParse({ type: row.type, command: c.command, url: c.url, args: c.args });
    if (!parsed.success) throw AppException.invalid(parsed.error.issues[0]?.message ?? 'invalid server');
  }

  private inFlight(id: string): number {
    try {
      return this.engine.getServerState(id).inFlight;
    } catch {
      return 0;
    }
  }
}

/** Entries that differ at most in fields the connections do not use (name, description, required). */
function sameConnection(a: ServerEntry, b: ServerEntry): boolean {
  const strip = ({ name: _n, description: _d, required: _r, ...rest }: ServerEntry) => rest;
  return isDeepStrictEqual(strip(a), strip(b));
}

function fieldOf(name: string) {
  return [{ field: `configuration.${name}`, problems: ['required'] }];
}

function checkSecrets(values: unknown, field: string, namePattern: RegExp): void {
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    throw AppException.invalid(`configuration.${field} must be an object of strings`);
  const entries = Object.entries(values as Record<string, unknown>);
  if (entries.length > MAX_SECRET_KEYS)
    throw AppException.invalid(`configuration.${field} has more than ${MAX_SECRET_KEYS} entries`);
  for (const [name, value] of entries) {
    if (!namePattern.test(name))
      throw AppException.invalid(`configuration.${field}: invalid name '${name.slice(0, 64)}'`);
    if (typeof value !== 'string' || value.length > MAX_SECRET_VALUE || /[\r\n\0]/.test(value))
      throw AppException.invalid(
        `configuration.${field}.${name} must be a string of at most ${MAX_SECRET_VALUE} characters without line breaks`,
      );
  }
}
