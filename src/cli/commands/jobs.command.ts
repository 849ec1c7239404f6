import { Command } from 'commander';
import type { components } from '../api/schema';
import { errorFrom, unwrap, type Connection } from '../client';
import { contextOf, type CommandContext } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { readEvents, type ServerSentEvent } from '../event-stream';
import { progressView } from '../progress';
import { toolArguments, type CallOptions } from './tools.command';

type JobAccepted = components['schemas']['JobAcceptedDto'];

/** `globalmcp jobs start|follow|cancel`: long-running tool calls. */
export function jobsCommand(): Command {
  const jobs = new Command('jobs').description('tool calls run as jobs: start, follow progress, cancel');

  jobs
    .command('start <server> <tool> [arguments...]')
    .description('start a tool call as a job and print its execution id (arguments as in tools call)')
    .option('--json <file>', 'the arguments object from a file, - for stdin')
    .option('--timeout <ms>', 'call timeout')
    .option('--follow', 'then follow it to the end, as jobs follow does')
    .action(
      async (
        server: string,
        tool: string,
        pairs: string[],
        options: CallOptions & { follow?: boolean },
        command: Command,
      ) => {
        const context = contextOf(command);
        const body = toolArguments(pairs, options.json);
        const timeout = options.timeout === undefined ? {} : { timeout: Number(options.timeout) };
        const job = unwrap(
          await context.connection().api.POST('/api/servers/{id}/tools/{tool}', {
            params: { path: { id: server, tool }, query: { mode: 'async', ...timeout } },
            body,
          }),
        ) as unknown as JobAccepted;
        if (options.follow) {
          if (context.out.format === 'table') context.out.line(`started ${job.execution_id}`);
          return follow(context, job.execution_id);
        }
        context.out.done(job, job.execution_id);
      },
    );

  jobs
    .command('follow <execution-id>')
    .description('show progress until the job ends (a live bar on a terminal, lines otherwise); exit 0 if it completed')
    .action((id: string, _options: unknown, command: Command) => follow(contextOf(command), id));

  jobs
    .command('cancel <execution-id>')
    .description('cancel a running job')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.POST('/api/executions/{id}/cancel', { params: { path: { id } } }));
      out.done(data, `${data.execution_id}: ${data.status} (${data.message})`);
    });

  return jobs;
}

/**
 * Follows the job's event stream to its final event. `--output json` prints each event as one JSON line; otherwise
 * progress is a bar redrawn in place on a terminal and one line per change elsewhere (logs, CI).
 */
async function follow({ out, connection }: CommandContext, id: string): Promise<void> {
  const events = await openEvents(connection(), id);
  const view = progressView(process.stderr, out.format === 'table');
  let final: { event: string; data: JobEvent } | undefined;
  for await (const event of events) {
    const data = parse(event.data);
    if (out.format === 'json') out.line(JSON.stringify({ event: event.event, ...data }));
    if (event.event === 'progress') view.progress(data.progress ?? 0, data.total, data.message);
    else if (event.event === 'log')
      view.log(`log ${data.level ?? ''}: ${typeof data.data === 'string' ? data.data : JSON.stringify(data.data)}`);
    else if (event.event === 'status') view.log(`${id}: ${data.status} (${data.server_id}/${data.tool_name})`);
    else if (FINAL_EVENTS.includes(event.event)) {
      final = { event: event.event, data };
      view.end();
      if (out.format === 'table') printFinal(out.line, event.event, data);
      break;
    }
  }
  if (!final) throw new CliError(ExitCode.failed, `the event stream of ${id} ended before the job did`);
  const completed = final.event === 'result' && final.data.status === 'completed' && !final.data.result?.is_error;
  if (!completed) process.exitCode = ExitCode.failed;
}

const FINAL_EVENTS = ['result', 'error', 'cancelled', 'interrupted'];

/** The fields of the job events (docs/api.md) that are shown; the JSON output keeps every field. */
interface JobEvent {
  execution_id?: string;
  status?: string;
  server_id?: string;
  tool_name?: string;
  progress?: number;
  total?: number;
  message?: string;
  level?: string;
  data?: unknown;
  code?: string;
  reason?: string;
  duration_ms?: number;
  result?: { content?: { type?: string; text?: string }[]; is_error?: boolean };
}

async function openEvents(connection: Connection, id: string): Promise<AsyncIterable<ServerSentEvent>> {
  const answer = await connection.api.GET('/api/executions/{id}/events', {
    params: { path: { id } },
    parseAs: 'stream',
  });
  // openapi-fetch has read an error answer's body into `error` already.
  if (!answer.response.ok || !answer.data) throw errorFrom(answer.response, answer.error);
  return readEvents(answer.data);
}

function printFinal(line: (text: string) => void, event: string, data: JobEvent): void {
  const execution = data.execution_id ?? '';
  if (event === 'result') {
    const ms = typeof data.duration_ms === 'number' ? ` in ${Math.round(data.duration_ms)} ms` : '';
    line(`${execution}: ${data.status}${ms}`);
    for (const item of data.result?.content ?? [])
      line(item.type === 'text' && item.text !== undefined ? item.text : JSON.stringify(item));
  } else if (event === 'error') {
    line(`${execution}: failed: ${data.code}: ${data.message}`);
  } else {
    line(`${execution}: ${event}${data.reason ? ` (${data.reason})` : ''}`);
  }
}

function parse(text: string): JobEvent {
  const value = parseOrUndefined(text);
  return value && typeof value === 'object' ? value : { data: text };
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
