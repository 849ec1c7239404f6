import { EventEmitter } from 'node:events';
import type { ServerEntry } from './config.schema';

/** One server of the configuration (`mcp.servers.<id>`), with when it appeared and last changed in this process. */
export interface ConfigServer {
  id: string;
  entry: ServerEntry;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConfigServersEvents {
  /** The set was replaced by a reload: ids added, removed and changed (entries differ). */
  changed: [{ added: string[]; removed: string[]; changed: string[] }];
}

/**
 * The servers the configuration declares, as of the last successful load or reload. The configuration object
 * itself (APP_CONFIG) is frozen at start; everything that lists "the config servers" (the engine's start, the
 * REST registry, readiness) reads them here, so a reload is seen everywhere at once.
 */
export class ConfigServersSource extends EventEmitter<ConfigServersEvents> {
  private servers = new Map<string, ConfigServer>();

  constructor(initial: Readonly<Record<string, ServerEntry>>) {
    super();
    const now = new Date();
    for (const [id, entry] of Object.entries(initial))
      this.servers.set(id, { id, entry, createdAt: now, updatedAt: now });
  }

  /** The current entries by id (a fresh object: callers may iterate it while a reload replaces the set). */
  get current(): Record<string, ServerEntry> {
    return Object.fromEntries([...this.servers.values()].map((s) => [s.id, s.entry]));
  }

  list(): ConfigServer[] {
    return [...this.servers.values()];
  }

  get(id: string): ConfigServer | undefined {
    return this.servers.get(id);
  }

  /** Replaces the set; keeps `createdAt` of ids still present and `updatedAt` of entries that did not change. */
  replace(
    next: Readonly<Record<string, ServerEntry>>,
    diff: { added: string[]; removed: string[]; changed: string[] },
  ) {
    const now = new Date();
    const servers = new Map<string, ConfigServer>();
    for (const [id, entry] of Object.entries(next)) {
      const before = this.servers.get(id);
      const touched = !before || diff.changed.includes(id);
      servers.set(id, {
        id,
        entry,
        createdAt: before?.createdAt ?? now,
        updatedAt: touched ? now : before.updatedAt,
      });
    }
    this.servers = servers;
    this.emit('changed', diff);
  }
}
