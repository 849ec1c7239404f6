import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_URL } from './client';
import { connectionsCommand } from './commands/connections.command';
import { executionsCommand } from './commands/executions.command';
import { loginCommand, startCommand, validateConfigCommand } from './commands/gateway.command';
import { jobsCommand } from './commands/jobs.command';
import { keysCommand } from './commands/keys.command';
import { mcpConfigCommand } from './commands/mcp-config.command';
import { serversCommand } from './commands/servers.command';
import { toolsCommand } from './commands/tools.command';
import { CliError, ExitCode } from './exit-codes';

const EXIT_CODES = `
Exit codes: 0 ok, 1 usage or invalid input, 2 authentication or permission, 3 not found, 4 conflict,
5 gateway, upstream or tool failure, 6 gateway unreachable. See docs/cli.md.`;

/** The `globalmcp` program; commands run against `--url` with the key of `--api-key`, the environment or a profile. */
export function buildProgram(): Command {
  const program = new Command('globalmcp')
    .description('Run and operate a globalmcp gateway')
    .option('--url <url>', `the gateway (env GLOBALMCP_URL, else the profile's, else ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (env GLOBALMCP_API_KEY, else the profile written by globalmcp login)')
    .addOption(
      new Option('-o, --output <format>', 'table for people, json for scripts')
        .choices(['table', 'json'])
        .default('table'),
    )
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES)
    .exitOverride();
  for (const command of [
    startCommand(),
    validateConfigCommand(),
    loginCommand(),
    serversCommand(),
    toolsCommand(),
    jobsCommand(),
    executionsCommand(),
    keysCommand(),
    connectionsCommand(),
    mcpConfigCommand(),
  ]) {
    program.addCommand(command);
  }
  // Subcommands' parse errors go through the same exit path as the program's.
  const override = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

/** Runs the command line; resolves to the exit code (the gateway of `start` keeps the process running). */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are exit 0; every other parse error has already been printed by commander.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof CliError) {
      const json = program.opts<{ output?: string }>().output === 'json';
      process.stderr.write(
        json && error.envelope
          ? `${JSON.stringify({ error: error.envelope, exit_code: error.exitCode })}\n`
          : `error: ${error.message}${hint(error, program)}\n`,
      );
      return error.exitCode;
    }
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return ExitCode.failed;
  }
}

function hint(error: CliError, program: Command): string {
  if (error.exitCode !== ExitCode.auth || !error.envelope) return '';
  const { apiKey } = program.opts<{ apiKey?: string }>();
  return apiKey || process.env.GLOBALMCP_API_KEY
    ? ''
    : '\n(no API key given: --api-key, GLOBALMCP_API_KEY or globalmcp login)';
}
