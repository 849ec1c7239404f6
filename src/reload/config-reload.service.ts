import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { ConfigError, loadConfig, type LoadedConfig } from 'src/config/config.loader';
import { LOADED_CONFIG } from 'src/config/config.module';
import { McpEngine } from 'src/mcp/mcp-engine';
import {
  CONFIG_LAST_RELOAD_SUCCESS,
  CONFIG_LAST_RELOAD_TIMESTAMP,
  CONFIG_RELOAD_FAILURES,
} from 'src/metrics/metric-names';
import { changedKeys, diffServers, type ServersDiff } from './config-diff';
import { ConfigServersSource } from 'src/config/config-servers.source';

export interface ReloadResult {
  /** `applied`: the servers changed; `unchanged`: valid, nothing to apply; `failed`: invalid, old config kept. */
  status: 'applied' | 'unchanged' | 'failed';
  trigger: string;
  servers?: ServersDiff;
  /** Keys that differ from the running configuration and need a restart. */
  notApplied?: string[];
  /** Why the new configuration was refused (`key.path: message`). */
  errors?: string[];
}

/**
 * Loads the configuration again (same files, same options as at start) and applies what can change live: the
 * MCP servers. Added servers start, removed ones stop (children reaped), changed ones restart with the new
 * entry; the others are untouched. Other keys need a restart: they are logged, not applied. An invalid file
 * keeps the running configuration. Triggered by SIGHUP (main.ts) and by the file watcher.
 */
@Injectable()
export class ConfigReloadService implements OnModuleInit {
  private readonly logger = new Logger('ConfigReload');
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Promise<ReloadResult> | undefined;
  private files: string[];
  private lastFingerprint: string;

  constructor(
    @Inject(LOADED_CONFIG) private readonly loaded: LoadedConfig,
    private readonly servers: ConfigServersSource,
    private readonly engine: McpEngine,
    @InjectMetric(CONFIG_RELOAD_FAILURES) private readonly failures: Counter,
    @InjectMetric(CONFIG_LAST_RELOAD_SUCCESS) private readonly lastSuccess: Gauge,
    @InjectMetric(CONFIG_LAST_RELOAD_TIMESTAMP) private readonly lastTimestamp: Gauge,
  ) {
    this.files = [...loaded.sources];
    this.lastFingerprint = fingerprint(this.files);
  }

  onModuleInit(): void {
    // The load at start counts as the first (successful) one.
    this.lastSuccess.set(1);
    this.lastTimestamp.set(Date.now() / 1000);
  }

  /** The files the configuration was last read from (watched for changes). */
  get sources(): readonly string[] {
    return this.files;
  }

  /** True when a watched file's content (followed through symlinks) differs from what was last read. */
  filesChanged(): boolean {
    return fingerprint(this.files) !== this.lastFingerprint;
  }

  /**
   * Reloads now, or after the reload in progress; requests arriving meanwhile share one further reload (they all
   * see the files as they are when it starts).
   */
  reload(trigger: string): Promise<ReloadResult> {
    if (this.pending) return this.pending;
    const next = this.queue.then(() => {
      this.pending = undefined;
      return this.reloadNow(trigger);
    });
    this.pending = next;
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(trigger: string): Promise<ReloadResult> {
    let next: LoadedConfig;
    try {
      this.lastFingerprint = fingerprint(this.files);
      next = loadConfig(this.loaded.options ?? {});
    } catch (error) {
      const errors =
        error instanceof ConfigError
          ? error.issues.map((i) => `${i.path}: ${i.message}`)
          : [`(load): ${errorMessage(error)}`];
      if (error instanceof ConfigError && error.sources.length > 0) {
        this.files = [...new Set([...this.files, ...error.sources])];
        this.lastFingerprint = fingerprint(this.files);
      }
      this.failures.inc();
      this.lastSuccess.set(0);
      this.lastTimestamp.set(Date.now() / 1000);
      this.logger.error(
        `Configuration reload (${trigger}) rejected, the running configuration is kept: ${errors.join('; ')}`,
      );
      return { status: 'failed', trigger, errors };
    }
    this.files = [...next.sources];
    this.lastFingerprint = fingerprint(this.files);
    for (const warning of next.warnings) this.logger.warn(warning);

    const diff = diffServers(this.servers.current, next.config.mcp.servers);
    const notApplied = changedKeys(this.loaded.config, next.config);
    const touched = diff.added.length + diff.removed.length + diff.changed.length;
    if (touched > 0) {
      this.servers.replace(next.config.mcp.servers, diff);
      const failed: string[] = [];
      const apply = (id: string, work: () => Promise<void>) =>
        work().catch((error: unknown) => {
          failed.push(`${id}: ${errorMessage(error)}`);
        });
      await Promise.all([
        ...diff.removed.map((id) => apply(id, () => this.engine.removeServer(id))),
        ...[...diff.added, ...diff.changed].map((id) =>
          apply(id, () => this.engine.upsertServer(id, next.config.mcp.servers[id]!)),
        ),
      ]);
      for (const problem of failed) this.logger.error(`Applying a server change failed: ${problem}`);
    }
    this.lastSuccess.set(1);
    this.lastTimestamp.set(Date.now() / 1000);
    const summary =
      touched > 0
        ? `servers added [${diff.added.join(', ')}], removed [${diff.removed.join(', ')}], changed [${diff.changed.join(', ')}], ${diff.unchanged.length} unchanged`
        : 'no server changes';
    this.logger.log(
      `Configuration reloaded (${trigger}) from ${this.files.join(', ') || '(defaults only)'}: ${summary}`,
    );
    if (notApplied.length > 0) {
      this.logger.warn(
        `Changed keys not applied until a restart (only mcp.servers is reloaded live): ${notApplied.join(', ')}`,
      );
    }
    return { status: touched > 0 ? 'applied' : 'unchanged', trigger, servers: diff, notApplied };
  }
}

/** Content hash of the files (through symlinks, so a ConfigMap `..data` swap changes it); a missing file counts. */
export function fingerprint(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch (error) {
      hash.update(`<unreadable: ${(error as NodeJS.ErrnoException).code ?? 'error'}>`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
