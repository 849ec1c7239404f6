import { Command } from 'commander';
import type { components } from '../api/schema';
import { parseKeyValues, positiveInt } from '../arguments';
import { unwrap } from '../client';
import { contextOf, readJsonObject, type CommandContext } from '../context';
import { CliError, ExitCode } from '../exit-codes';

type ExecutionResult = components['schemas']['ExecutionResultDto'];

/** `globalmcp tools list|get|call`. */
export function toolsCommand(): Command {
  const tools = new Command('tools').description('tools of the servers you may use');

  tools
    .command('list')
    .description('list tools')
    .option('--server <id>', 'only the tools of this server')
    .option('--search <text>', 'only tools whose name or description contains this')
    .action(async (options: { server?: string; search?: string }, command: Command) => {
      const { out, connection } = contextOf(command);
      const query = {
        ...(options.server ? { server_id: options.server } : {}),
        ...(options.search ? { search: options.search } : {}),
      };
      const data = unwrap(await connection().api.GET('/api/tools', { params: { query } }));
      out.table(data, data.tools, {
        server: (t) => t.server_id,
        tool: (t) => t.name,
        description: (t) => truncate(t.description ?? '', 70),
      });
    });

  tools
    .command('get <server> <tool>')
    .description("a tool's description and input schema")
    .action(async (server: string, tool: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const t = unwrap(
        await connection().api.GET('/api/tools/{name}', {
          params: { path: { name: tool }, query: { server_id: server } },
        }),
      );
      out.fields(t, { server: t.server_id, tool: t.name, title: t.title, description: t.description });
      if (out.format === 'table') out.line(`input schema:\n${JSON.stringify(t.input_schema, null, 2)}`);
    });

  tools
    .command('call <server> <tool> [arguments...]')
    .description(
      'call a tool and wait for its result; arguments as key=value (typed: 42, true, null, {"a":1}) or --json',
    )
    .option('--json <file>', 'the arguments object from a file, - for stdin')
    .option('--timeout <ms>', 'call timeout', positiveInt('--timeout'))
    .action(async (server: string, tool: string, pairs: string[], options: CallOptions, command: Command) => {
      const context = contextOf(command);
      const body = toolArguments(pairs, options.json);
      const data = unwrap(
        await context.connection().api.POST('/api/servers/{id}/tools/{tool}', {
          params: { path: { id: server, tool }, query: options.timeout ? { timeout: options.timeout } : {} },
          body,
        }),
      ) as ExecutionResult;
      printResult(context, data);
    });

  return tools;
}

export interface CallOptions {
  json?: string;
  timeout?: number;
}

/** The tool's arguments: from `--json FILE` or from `key=value` pairs, not both. */
export function toolArguments(pairs: string[], file: string | undefined): Record<string, unknown> {
  if (file !== undefined && pairs.length > 0)
    throw new CliError(ExitCode.usage, 'give key=value arguments or --json, not both');
  return file !== undefined ? readJsonObject(file) : parseKeyValues(pairs);
}

/** A tool result: its text content (other content as JSON) and structured content; exit 5 if the tool failed. */
export function printResult({ out }: CommandContext, data: ExecutionResult): void {
  if (out.format === 'json') out.line(JSON.stringify(data, null, 2));
  else {
    for (const item of data.result.content as { type?: string; text?: string }[]) {
      out.line(item.type === 'text' && typeof item.text === 'string' ? item.text : JSON.stringify(item));
    }
    if (data.result.structured_content) out.line(JSON.stringify(data.result.structured_content, null, 2));
  }
  if (data.result.is_error) {
    process.stderr.write(`error: the tool reported an error (execution ${data.execution_id})\n`);
    process.exitCode = ExitCode.failed;
  }
}

function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
