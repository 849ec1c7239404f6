import { Command, Option } from 'commander';
import type { components } from '../api/schema';
import { positiveInt } from '../arguments';
import { unwrap } from '../client';
import { collect, contextOf, readJsonObject } from '../context';
import { CliError, ExitCode } from '../exit-codes';

type RegisterServer = components['schemas']['RegisterServerDto'];

/** `globalmcp servers list|get|add|remove|restart|health`. */
export function serversCommand(): Command {
  const servers = new Command('servers').description('MCP servers behind the gateway');

  servers
    .command('list')
    .description('list servers with their status, health and tool count')
    .addOption(
      new Option('--status <status>', 'only servers with this status').choices(['active', 'inactive', 'error']),
    )
    .addOption(new Option('--type <type>', 'only servers of this transport').choices(['stdio', 'http', 'sse']))
    .option('--limit <n>', 'page size (at most 200)', positiveInt('--limit'))
    .option('--page <n>', 'page number', positiveInt('--page'))
    .action(async (options: { status?: 'active'; type?: 'stdio'; limit?: number; page?: number }, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.GET('/api/servers', { params: { query: options } }));
      out.table(data, data.servers, {
        id: (s) => s.id,
        type: (s) => s.type,
        status: (s) => s.status,
        health: (s) => s.health.status,
        tools: (s) => s.capabilities.tools,
        source: (s) => s.source,
        name: (s) => s.name,
      });
    });

  servers
    .command('get <id>')
    .description("a server's configuration, health, metrics and last error")
    .action(async (id: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const s = unwrap(await connection().api.GET('/api/servers/{id}', { params: { path: { id } } }));
      out.fields(s, {
        id: s.id,
        name: s.name,
        type: s.type,
        status: s.status,
        endpoint: s.endpoint,
        source: s.source,
        health: s.health.status,
        'last check': s.health.last_check,
        tools: s.capabilities.tools,
        restarts: s.metrics.restarts,
        requests: s.metrics.requests_total,
        errors: s.metrics.errors_total,
        'last error': s.last_error,
        'last error at': s.last_error_at,
      });
    });

  servers
    .command('add <id>')
    .description('register a server (stored in the database and started at once)')
    .addOption(new Option('--type <type>', 'transport').choices(['stdio', 'http', 'sse']))
    .option('--command <command>', 'stdio: the program to start')
    .option('--arg <arg>', 'stdio: an argument (repeat for more)', collect)
    .option('--cwd <dir>', 'stdio: working directory')
    .option('--env <KEY=VALUE>', 'stdio: an environment variable (repeat for more)', collect)
    .option('--server-url <url>', 'http/sse: the upstream server URL')
    .option('--header <Name=value>', 'http/sse: a header sent upstream (repeat for more)', collect)
    .option('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .option('--timeout <ms>', 'call timeout', positiveInt('--timeout'))
    .option('--pool-size <n>', 'connections to keep', positiveInt('--pool-size'))
    .option('--required', 'readiness waits for this server')
    .option('--disabled', 'register without starting it')
    .option('--json <file>', 'the whole request body (RegisterServerDto) from a file, - for stdin')
    .action(async (id: string, options: AddOptions, command: Command) => {
      const { out, connection } = contextOf(command);
      const body = options.json
        ? ({ ...readJsonObject(options.json), id } as RegisterServer)
        : registerBody(id, options);
      const data = unwrap(await connection().api.POST('/api/servers', { body }));
      out.done(data, `registered ${data.id}: ${data.server_status} (${data.message})`);
    });

  servers
    .command('remove <id>')
    .description('remove a server registered through the API')
    .option('--force', 'even while calls are in flight')
    .action(async (id: string, options: { force?: boolean }, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(
        await connection().api.DELETE('/api/servers/{id}', {
          params: { path: { id }, query: options.force ? { force: 'true' } : {} },
        }),
      );
      out.done(data, `removed ${id}: ${data.message}`);
    });

  servers
    .command('restart <id>')
    .description("close a server's connections and connect again")
    .action(async (id: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.POST('/api/servers/{id}/restart', { params: { path: { id } } }));
      out.done(data, `restarted ${id}: ${data.message}`);
    });

  servers
    .command('health <id>')
    .description('check a server now (a live ping plus authentication and discovery state); exit 5 when it is down')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.GET('/api/servers/{id}/health', { params: { path: { id } } }));
      if (out.format === 'table') out.line(`${data.server_id}: ${data.status}`);
      out.table(data, data.checks, {
        check: (c) => c.name,
        status: (c) => c.status,
        ms: (c) => c.response_time_ms,
        message: (c) => c.message,
      });
      if (data.status !== 'UP') process.exitCode = ExitCode.failed;
    });

  return servers;
}

interface AddOptions {
  type?: RegisterServer['type'];
  command?: string;
  arg?: string[];
  cwd?: string;
  env?: string[];
  serverUrl?: string;
  header?: string[];
  name?: string;
  description?: string;
  timeout?: number;
  poolSize?: number;
  required?: boolean;
  disabled?: boolean;
  json?: string;
}

function registerBody(id: string, options: AddOptions): RegisterServer {
  const type: RegisterServer['type'] | undefined =
    options.type ?? (options.serverUrl ? 'http' : options.command ? 'stdio' : undefined);
  if (!type)
    throw new CliError(
      ExitCode.usage,
      'servers add needs --command (stdio) or --server-url (http, sse), or --json FILE',
    );
  if (type === 'stdio' && !options.command) throw new CliError(ExitCode.usage, 'a stdio server needs --command');
  if (type !== 'stdio' && !options.serverUrl)
    throw new CliError(ExitCode.usage, `an ${type} server needs --server-url`);
  return {
    id,
    type,
    ...(options.name ? { name: options.name } : {}),
    ...(options.description ? { description: options.description } : {}),
    required: options.required === true,
    enabled: options.disabled !== true,
    configuration: {
      ...(options.command ? { command: options.command, args: options.arg ?? [] } : {}),
      ...(options.cwd ? { working_directory: options.cwd } : {}),
      ...(options.env ? { environment: namedValues('--env', options.env) } : {}),
      ...(options.serverUrl ? { url: options.serverUrl } : {}),
      ...(options.header ? { headers: namedValues('--header', options.header) } : {}),
      ...(options.timeout ? { timeout: options.timeout } : {}),
      ...(options.poolSize ? { pool_size: options.poolSize } : {}),
    },
  };
}

/** `NAME=value` options → an object of strings (environment and headers are strings, never typed). */
function namedValues(option: string, pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(ExitCode.usage, `${option} expects NAME=value, got "${pair}"`);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return result;
}
