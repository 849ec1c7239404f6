import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import {
  DB_POOL_CONNECTIONS_ACTIVE,
  DB_POOL_CONNECTIONS_IDLE,
  DB_POOL_CONNECTIONS_MAX,
  DB_POOL_CONNECTIONS_PENDING,
  DB_POOL_CONNECTIONS_TOTAL,
} from './metric-names';

/** What node-postgres' `Pool` tells about itself. */
interface PgPoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

export interface PoolSample {
  active: number;
  idle: number;
  pending: number;
  total: number;
  max: number;
}

/**
 * Pools sampled at scrape time. Module-level because prom-client's default registry is per process: every gateway
 * of the process (tests start several) adds its pool while it runs, and the gauges report their sum.
 */
const samplers = new Set<() => PoolSample | undefined>();

function sampleAll(): PoolSample {
  const sum: PoolSample = { active: 0, idle: 0, pending: 0, total: 0, max: 0 };
  for (const sampler of samplers) {
    const s = sampler();
    if (!s) continue;
    sum.active += s.active;
    sum.idle += s.idle;
    sum.pending += s.pending;
    sum.total += s.total;
    sum.max += s.max;
  }
  return sum;
}

const gauge = (name: string, help: string, pick: (s: PoolSample) => number) =>
  makeGaugeProvider({
    name,
    help,
    collect(this: Gauge) {
      this.set(pick(sampleAll()));
    },
  });

/**
 * The guide's `hikaricp_connections_*` with our names, read from the TypeORM DataSource's pg Pool at each scrape
 * (`collect()`): no timers, always current. `max` is `spring.datasource.hikari.maximum-pool-size`.
 */
export const databasePoolMetricProviders = [
  gauge(DB_POOL_CONNECTIONS_ACTIVE, 'Database connections in use (pool total minus idle)', (s) => s.active),
  gauge(DB_POOL_CONNECTIONS_IDLE, 'Idle database connections in the pool', (s) => s.idle),
  gauge(DB_POOL_CONNECTIONS_PENDING, 'Queries waiting for a database connection', (s) => s.pending),
  gauge(DB_POOL_CONNECTIONS_TOTAL, 'Open database connections (active + idle)', (s) => s.total),
  gauge(
    DB_POOL_CONNECTIONS_MAX,
    'Maximum size of the database pool (spring.datasource.hikari.maximum-pool-size)',
    (s) => s.max,
  ),
];

/** Registers this application's pool with the gauges while it runs. */
@Injectable()
export class DatabasePoolMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sampler = () => this.sample();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() @Inject(getDataSourceToken()) private readonly dataSource?: DataSource,
  ) {}

  onApplicationBootstrap(): void {
    if (this.dataSource) samplers.add(this.sampler);
  }

  onApplicationShutdown(): void {
    samplers.delete(this.sampler);
  }

  sample(): PoolSample | undefined {
    const pool = poolOf(this.dataSource);
    const max = pool?.options?.max ?? this.config.spring.datasource.hikari.maximumPoolSize;
    if (!pool) return { active: 0, idle: 0, pending: 0, total: 0, max };
    return {
      active: Math.max(0, pool.totalCount - pool.idleCount),
      idle: pool.idleCount,
      pending: pool.waitingCount,
      total: pool.totalCount,
      max,
    };
  }
}

/** TypeORM's PostgresDriver keeps its pg Pool in `master` (replication off); nothing before `initialize()`. */
function poolOf(dataSource: DataSource | undefined): PgPoolLike | undefined {
  if (!dataSource?.isInitialized) return undefined;
  const master = (dataSource.driver as unknown as { master?: unknown }).master;
  if (typeof master !== 'object' || master === null || !('totalCount' in master)) return undefined;
  return master as PgPoolLike;
}
