import 'reflect-metadata';
import { parseCliArgs, USAGE } from './bootstrap/cli-args';
import type { RunningGateway } from './bootstrap/application';
import { ConfigError, loadConfig } from './config/config.loader';
import { runValidateConfig } from './config/validate-config';
import { applyHeapGrowth } from './bootstrap/heap-growth';

async function main(): Promise<void> {
  let args;
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.validateConfig) {
    process.exitCode = runValidateConfig({ configFiles: args.configFiles });
    return;
  }

  let loaded;
  try {
    loaded = loadConfig({ configFiles: args.configFiles });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  for (const warning of loaded.warnings) process.stderr.write(`WARN ${warning}\n`);
  applyHeapGrowth(loaded.config.mcp.runtime.heapGrowthPercent);

  // Loaded only to start: --validate-config and --help stay fast and never load Nest, TypeORM or the engine.
  const starting: Promise<RunningGateway> = import('./bootstrap/application').then(({ startGateway }) =>
    startGateway(loaded),
  );
  const stop = (reason: string) => {
    // A signal during start-up waits for it, so nothing it launched (embedded PostgreSQL, MCP children) is orphaned.
    starting
      .then((gateway) => gateway.shutdown(reason))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`Shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
  };
  // on, not once: a second signal (npm forwarding the one the process group got) must not kill a graceful stop.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP (the systemd ExecReload) reloads the configuration and applies server changes; during start-up it waits.
  process.on('SIGHUP', () => {
    starting
      .then((gateway) =>
        import('./reload/config-reload.service').then(({ ConfigReloadService }) =>
          gateway.api.get(ConfigReloadService).reload('SIGHUP'),
        ),
      )
      .catch((error: unknown) => process.stderr.write(`SIGHUP reload failed: ${String(error)}\n`));
  });

  try {
    await starting;
  } catch (error) {
    process.stderr.write(`globalmcp failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
}

void main();
