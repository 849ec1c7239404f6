import { realpathSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
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
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
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
    // anything else in those directories (a data dir, logs) is ignored. inotify names the entry of each event, so
    // an ignored entry costs one event and no I/O. (chokidar re-read the whole directory on every event: with a
    // log file beside the config, that was ~40 µs of CPU per request under load.)
    const names = new Set<string>();
    for (const file of this.reloader.sources) {
      names.add(path.basename(file));
      try {
        names.add(path.basename(realpathSync(file)));
      } catch {
        // not there (yet): its own name is enough
      }
    }
    const relevant = (entry: string | null) => entry === null || names.has(entry) || entry.startsWith('..');
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, entry) => {
          if (relevant(entry)) this.schedule();
        });
        watcher.on('error', (error) => this.logger.warn(`Watching ${dir} for configuration changes: ${String(error)}`));
        this.watchers.push(watcher);
      } catch (error) {
        this.logger.warn(`Cannot watch ${dir} for configuration changes: ${String(error)}`);
      }
    }
    this.logger.log(`Watching ${dirs.join(', ')} for configuration changes`);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.splice(0)) watcher.close();
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
