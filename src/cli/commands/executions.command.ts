import { Command, Option } from 'commander';
import type { operations } from '../api/schema';
import { positiveInt } from '../arguments';
import { unwrap } from '../client';
import { contextOf } from '../context';

type ListQuery = NonNullable<operations['list']['parameters']['query']>;
const STATUSES: NonNullable<ListQuery['status']>[] = ['running', 'completed', 'failed', 'interrupted', 'cancelled'];

interface ListOptions {
  server?: string;
  tool?: string;
  principal?: string;
  status?: ListQuery['status'];
  limit?: number;
  page?: number;
}

/** `globalmcp executions list|get`: the audit trail of tool calls. */
export function executionsCommand(): Command {
  const executions = new Command('executions').description('recorded tool calls (yours; every one with mcp:admin)');

  executions
    .command('list')
    .description('list executions, newest first')
    .option('--server <id>', 'only calls to this server')
    .option('--tool <name>', 'only calls of this tool')
    .option('--principal <principal>', 'only calls of this caller (key:<id>, or <kind>:<issuer>:<subject>)')
    .addOption(new Option('--status <status>', 'only calls with this status').choices(STATUSES))
    .option('--limit <n>', 'page size', positiveInt('--limit'))
    .option('--page <n>', 'page number', positiveInt('--page'))
    .action(async (options: ListOptions, command: Command) => {
      const { out, connection } = contextOf(command);
      const query: ListQuery = {
        server_id: options.server,
        tool: options.tool,
        principal: options.principal,
        status: options.status,
        limit: options.limit,
        page: options.page,
      };
      const data = unwrap(await connection().api.GET('/api/executions', { params: { query } }));
      out.table(data, data.executions, {
        execution: (e) => e.execution_id,
        server: (e) => e.server_id,
        tool: (e) => e.tool_name,
        status: (e) => e.status,
        ms: (e) => (e.duration_ms === null ? null : Math.round(e.duration_ms)),
        started: (e) => e.started_at,
        principal: (e) => e.principal,
      });
    });

  executions
    .command('get <execution-id>')
    .description('one execution: arguments, result or error, timing')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const e = unwrap(await connection().api.GET('/api/executions/{id}', { params: { path: { id } } }));
      out.fields(e, {
        execution: e.execution_id,
        server: e.server_id,
        tool: e.tool_name,
        status: e.status,
        channel: e.channel,
        principal: e.principal,
        started: e.started_at,
        completed: e.completed_at,
        'duration ms': e.duration_ms === null ? null : Math.round(e.duration_ms),
        arguments: e.parameters === null ? null : JSON.stringify(e.parameters),
        result: e.result === null ? null : JSON.stringify(e.result),
        error: e.error ? JSON.stringify(e.error) : null,
      });
    });

  return executions;
}
