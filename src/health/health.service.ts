import { Inject, Injectable } from '@nestjs/common';
import {
  DiskHealthIndicator,
  HealthIndicatorService,
  MemoryHealthIndicator,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { RedisConnection } from 'src/cache/redis-connection';
import { DatabaseStatus } from 'src/database/database.module';
import { ApplicationState } from './application-state';
import type { ComponentHealth, HealthContributor, HealthReport, HealthStatus, HealthViewer } from './health.types';

const CHECK_TIMEOUT_MS = 3000;

/**
 * Health of the process and what it depends on, computed with Terminus indicators and reported in Spring Boot
 * Actuator's shape. Other modules add components (the MCP engine adds `mcp-servers`) with `register`.
 */
@Injectable()
export class HealthService {
  private readonly contributors = new Map<string, HealthContributor>();
  private readonly readinessGates = new Map<string, () => ComponentHealth>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly state: ApplicationState,
    private readonly indicators: HealthIndicatorService,
    private readonly typeorm: TypeOrmHealthIndicator,
    private readonly memory: MemoryHealthIndicator,
    private readonly disk: DiskHealthIndicator,
    private readonly redis: RedisConnection,
    private readonly database: DatabaseStatus,
  ) {
    this.register({ name: 'db', check: () => this.checkDatabase() });
    if (redis.client) this.register({ name: 'redis', check: () => this.checkRedis() });
    this.register({ name: 'diskSpace', check: () => this.checkDisk() });
    this.register({ name: 'memory', check: () => this.checkMemory() });
    this.addReadinessGate('migrations', () =>
      this.database.migrationsPending
        ? {
            status: 'DOWN',
            details: {
              reason: 'migrations pending: run `npm run migration:run` or enable mcp.database.migrate-on-start',
            },
          }
        : { status: 'UP', details: { applied_at_start: this.database.appliedAtStart } },
    );
  }

  register(contributor: HealthContributor): void {
    this.contributors.set(contributor.name, contributor);
  }

  /** A condition of this replica's own state that readiness waits for (e.g. migrations applied). */
  addReadinessGate(name: string, gate: () => ComponentHealth): void {
    this.readinessGates.set(name, gate);
  }

  liveness(): HealthReport {
    // The process answers: that is all liveness means. Upstreams being down must never restart the pod.
    return { status: 'UP' };
  }

  startup(): HealthReport {
    return { status: this.state.isStarted ? 'UP' : 'OUT_OF_SERVICE' };
  }

  /**
   * Fails the start when `management.endpoint.health.group.readiness.include` names a component nobody registered
   * (a typo would otherwise keep the replica out of the balancer forever), as Spring Boot does. Call after init.
   */
  validateGroups(): void {
    const unknown = this.readinessIncludes().filter((name) => !this.contributors.has(name));
    if (unknown.length > 0) {
      throw new Error(
        `management.endpoint.health.group.readiness.include names unknown health components: ${unknown.join(', ')} ` +
          `(known: ${[...this.contributors.keys()].join(', ')})`,
      );
    }
  }

  /**
   * Whether this replica can serve: started, not draining, its own gates (migrations, required servers) passed.
   * Shared dependencies (db, redis) are not in it unless the readiness group includes them by configuration: a
   * dependency that blips would take every replica out of the balancer at once (Spring Boot's default too).
   */
  async readiness(viewer: HealthViewer): Promise<HealthReport> {
    if (!this.state.isStarted || this.state.isShuttingDown) {
      return {
        status: 'OUT_OF_SERVICE',
        ...(this.detailsAllowed(viewer)
          ? { details: { reason: this.state.isShuttingDown ? 'shutting down' : 'starting' } }
          : {}),
      };
    }
    const included = this.readinessIncludes().flatMap((name) => this.contributors.get(name) ?? []);
    const components = await this.checkAll(included);
    for (const [name, gate] of this.readinessGates) components[name] = gate();
    const status: HealthStatus = Object.values(components).every((c) => c.status === 'UP') ? 'UP' : 'OUT_OF_SERVICE';
    return this.view({ status, components }, viewer);
  }

  async overall(viewer: HealthViewer): Promise<HealthReport> {
    const components = await this.checkAll([...this.contributors.values()]);
    return this.view({ status: aggregate(Object.values(components)), components }, viewer);
  }

  /** One component by name, or undefined when there is no such component. */
  async component(name: string, viewer: HealthViewer): Promise<HealthReport | undefined> {
    const contributor = this.contributors.get(name);
    if (!contributor) return undefined;
    const result = await this.safeCheck(contributor);
    return this.detailsAllowed(viewer) ? result : { status: result.status };
  }

  private readinessIncludes(): string[] {
    return this.config.management.endpoint.health.group.readiness.include.filter((name) => name !== 'readinessState');
  }

  private async checkAll(list: HealthContributor[]): Promise<Record<string, ComponentHealth>> {
    const results = await Promise.all(list.map(async (c) => [c.name, await this.safeCheck(c)] as const));
    return Object.fromEntries(results);
  }

  private async safeCheck(contributor: HealthContributor): Promise<ComponentHealth> {
    try {
      return await contributor.check();
    } catch (error) {
      return { status: 'DOWN', details: { error: (error as Error).message } };
    }
  }

  private view(report: Required<Pick<HealthReport, 'status' | 'components'>>, viewer: HealthViewer): HealthReport {
    const showComponents = this.allowed(
      this.config.management.endpoint.health.showComponents ?? this.config.management.endpoint.health.showDetails,
      viewer,
    );
    if (!showComponents) return { status: report.status };
    const withDetails = this.detailsAllowed(viewer);
    const components = Object.fromEntries(
      Object.entries(report.components).map(([name, c]) => [name, withDetails ? c : { status: c.status }]),
    );
    return { status: report.status, components };
  }

  private detailsAllowed(viewer: HealthViewer): boolean {
    return this.allowed(this.config.management.endpoint.health.showDetails, viewer);
  }

  private allowed(setting: 'never' | 'when-authorized' | 'always', viewer: HealthViewer): boolean {
    return setting === 'always' || (setting === 'when-authorized' && viewer.authorized);
  }

  private async checkDatabase(): Promise<ComponentHealth> {
    return fromTerminus(await this.typeorm.pingCheck('db').withTimeout(CHECK_TIMEOUT_MS), 'db', {
      database: 'PostgreSQL',
      validationQuery: 'SELECT 1',
      embedded: this.database.embedded,
      url: this.database.url,
    });
  }

  private async checkRedis(): Promise<ComponentHealth> {
    const client = this.redis.client!;
    const result = await this.indicators
      .check('redis')
      .attempt(async () => {
        // A write/read/delete round trip proves more than PING: the instance accepts writes (not read-only, not OOM).
        const key = `globalmcp:health:${process.pid}:${Date.now()}`;
        await client.set(key, 'ok', { PX: 10_000 });
        const read = await client.get(key);
        await client.del(key);
        if (read !== 'ok') throw new Error('read back a different value');
        return { version: client.isReady ? 'connected' : 'unknown' };
      })
      .withTimeout(CHECK_TIMEOUT_MS);
    return fromTerminus(result, 'redis');
  }

  private async checkDisk(): Promise<ComponentHealth> {
    const result = await this.disk.checkStorage('diskSpace', { path: process.cwd(), thresholdPercent: 0.95 });
    return fromTerminus(result, 'diskSpace', { path: process.cwd(), threshold: '95%' });
  }

  private async checkMemory(): Promise<ComponentHealth> {
    const result = await this.memory.checkHeap('memory', 4 * 1024 ** 3);
    const usage = process.memoryUsage();
    return fromTerminus(result, 'memory', { rss_bytes: usage.rss, heap_used_bytes: usage.heapUsed });
  }
}

function fromTerminus(
  result: HealthIndicatorResult,
  key: string,
  extra: Record<string, unknown> = {},
): ComponentHealth {
  const entry = (result[key] ?? {}) as Record<string, unknown>;
  const { status, ...details } = entry;
  return { status: status === 'up' || status === 'degraded' ? 'UP' : 'DOWN', details: { ...extra, ...details } };
}

function aggregate(components: ComponentHealth[]): HealthStatus {
  if (components.some((c) => c.status === 'DOWN')) return 'DOWN';
  if (components.some((c) => c.status === 'OUT_OF_SERVICE')) return 'OUT_OF_SERVICE';
  return 'UP';
}
