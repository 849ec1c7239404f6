import { realpathSync } from 'node:fs';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { watch, type FSWatcher } from 'chokidar';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { ConfigReloadService } from './config-reload.service';

/**
 * Watches the directories of the configuration files (not the files: an editor's save-by-rename and a
 * Kubernetes ConfigMap update both replace directory entries; the ConfigMap swaps its `..data` symlink) and,
 * once events stop for `mcp.reload.debounce`, reloads when a file's content changed.
 */
@Injectable()
export class ConfigWatcherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ConfigReload');
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Resolves when the watcher is ready (its initial scan is done); for tests. */
  ready: Promise<void> = Promise.resolve();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reloader: ConfigReloadService,
  ) {}

  onApplicationBootstrap(): void {
    const { enabled } = this.config.mcp.reload;
    const dirs = watchedDirectories(this.reloader.sources);
    if (!enabled || dirs.length === 0) {
      if (!enabled)
        this.logger.log('Watching the configuration files is off (mcp.reload.enabled=false); SIGHUP reloads');
      return;
    }
    // Only the config files' own entries, and a ConfigMap's `..2026_...` directories and `..data` symlink, matter:
    // anything else in those directories (a data dir, logs) is ignored, so its churn costs nothing.
    const names = new Set(this.reloader.sources.map((file) => path.basename(file)));
    const relevant = (entry: string) =>
      dirs.includes(entry) || names.has(path.basename(entry)) || path.basename(entry).startsWith('..');
    const watcher = watch(dirs, {
      // The entries of each directory only: a ConfigMap's `..2026_...` directories and `..data` symlink are entries.
      depth: 0,
      ignored: (entry: string) => !relevant(entry),
      followSymlinks: false,
      ignoreInitial: true,
      persistent: false,
    });
    this.watcher = watcher;
    watcher.on('all', () => this.schedule());
    watcher.on('error', (error) => this.logger.warn(`Watching the configuration files: ${String(error)}`));
    this.ready = new Promise((resolve) => watcher.once('ready', () => resolve()));
    this.logger.log(`Watching ${dirs.join(', ')} for configuration changes`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.watcher?.close();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), this.config.mcp.reload.debounce);
    this.timer.unref();
  }

  private fire(): void {
    if (this.closed || !this.reloader.filesChanged()) return;
    void this.reloader.reload('file change').catch((error: unknown) => {
      this.logger.error(`Configuration reload failed: ${String(error)}`);
    });
  }
}

/**
 * The directories to watch: each file's own directory, and the directory of the file it resolves to when that
 * is elsewhere (a symlink to another tree). A ConfigMap's `..2026_.../servers.yml` is not added: its parent is
 * already watched, and it is replaced, not edited.
 */
export function watchedDirectories(files: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const file of files) dirs.add(path.dirname(file));
  for (const file of files) {
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      continue;
    }
    const dir = path.dirname(real);
    if (!dirs.has(dir) && !dirs.has(path.dirname(dir))) dirs.add(dir);
  }
  return [...dirs];
}
