import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { createApiClient, DEFAULT_URL, errorFrom } from '../client';
import { contextOf } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { profilePath, writeProfile } from '../profile';

/** The checkout (or image) root: this file is dist/src/cli/commands/gateway.command.js. */
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

/** `globalmcp start`: `npm start` (build when run from a checkout, then the gateway in this process). */
export function startCommand(): Command {
  return new Command('start')
    .description('start the gateway (as npm start: builds first when run from a checkout)')
    .option('-c, --config <files>', 'configuration file(s), comma-separated; later ones override earlier ones')
    .option('--no-build', 'run the built gateway as it is')
    .action((options: { config?: string; build: boolean }) => {
      // A checkout has the sources and builds them, as npm's prestart does; the container image has dist only.
      if (options.build && existsSync(path.join(ROOT, 'tsconfig.build.json')) && existsSync(path.join(ROOT, 'src'))) {
        const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
        if (build.status !== 0) throw new CliError(ExitCode.failed, 'the build failed');
      }
      // main.js reads its own argv: the gateway runs in this process, so signals reach it directly.
      process.argv = [process.argv[0]!, MAIN, ...(options.config ? ['--config', options.config] : [])];
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- main.js runs on load, from a path known only now
      require(MAIN);
    });
}

/** `globalmcp validate-config`: the configuration check of boot, without starting anything. */
export function validateConfigCommand(): Command {
  return new Command('validate-config')
    .description('check the configuration as boot would: print problems or a summary (secrets masked), exit 0 or 1')
    .option('-c, --config <files>', 'configuration file(s), comma-separated')
    .action(async (options: { config?: string }) => {
      // Loaded here, not at the top: client commands never load the configuration schema.
      const { runValidateConfig } = await import('../../config/validate-config');
      process.exitCode = runValidateConfig({ configFiles: options.config });
    });
}

/** `globalmcp login`: checks the key against the gateway, then keeps both in the profile file (mode 0600). */
export function loginCommand(): Command {
  return new Command('login')
    .description(
      `keep --url and --api-key in ${profilePath().replace(process.env.HOME ?? '\0', '~')} (mode 0600) for later commands`,
    )
    .action(async (_options: unknown, command: Command) => {
      const { out } = contextOf(command);
      const global = command.optsWithGlobals<{ url?: string; apiKey?: string }>();
      const url = (global.url ?? process.env.GLOBALMCP_URL ?? DEFAULT_URL).replace(/\/+$/, '');
      const apiKey = global.apiKey ?? process.env.GLOBALMCP_API_KEY;
      if (!apiKey) throw new CliError(ExitCode.usage, 'login needs --api-key (or GLOBALMCP_API_KEY)');
      // A key without mcp:read (403) is still a key the gateway knows; 401 is not.
      const answer = await createApiClient(url, apiKey).GET('/api/servers', { params: { query: { limit: 1 } } });
      if (!answer.response.ok && answer.response.status !== 403) throw errorFrom(answer.response, answer.error);
      const file = profilePath();
      writeProfile(file, { url, apiKey });
      out.done({ url, profile: file }, `logged in to ${url}; profile ${file} (mode 600)`);
    });
}
