import { useState } from 'preact/hooks';
import { api, query } from '../api';
import type { Execution, Pagination } from '../types';
import { ErrorMessage, Json, Section, Status, useLoad, when, Table } from '../ui';

const STATUSES = ['running', 'completed', 'failed', 'interrupted', 'cancelled'];

interface Filters {
  server_id: string;
  tool: string;
  status: string;
  principal: string;
}

export function ExecutionsPage() {
  const [draft, setDraft] = useState<Filters>({ server_id: '', tool: '', status: '', principal: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const list = useLoad(
    () =>
      api<{ executions: Execution[]; pagination: Pagination }>(
        'GET',
        `/api/executions${query({ ...filters, limit: 50 })}`,
      ),
    [filters.server_id, filters.tool, filters.status, filters.principal],
  );
  const field = (name: keyof Filters, label: string) => (
    <div class="field">
      <label for={`filter-${name}`}>{label}</label>
      <input
        id={`filter-${name}`}
        value={draft[name]}
        onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })}
      />
    </div>
  );

  return (
    <Section title="Executions" actions={<button onClick={list.reload}>Refresh</button>}>
      <form
        class="filters"
        aria-label="Filter executions"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {field('server_id', 'Server')}
        {field('tool', 'Tool')}
        <div class="field">
          <label for="filter-status">Status</label>
          <select
            id="filter-status"
            value={draft.status}
            onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}
          >
            <option value="">any</option>
            {STATUSES.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </div>
        {field('principal', 'Caller')}
        <div class="actions">
          <button type="submit">Filter</button>
        </div>
      </form>
      <ErrorMessage error={list.error} />
      <ExecutionTable
        executions={list.data?.executions ?? []}
        onCaller={(principal) => {
          const next = { ...draft, principal };
          setDraft(next);
          setFilters(next);
        }}
      />
      {list.data && (
        <p class="hint">
          {list.data.executions.length} of {list.data.pagination.total}
        </p>
      )}
    </Section>
  );
}

export function ExecutionTable({
  executions,
  link = 'executions',
  onCaller,
}: {
  executions: Execution[];
  link?: string;
  /** When given, each caller is a button that filters the list to that caller. */
  onCaller?: (principal: string) => void;
}) {
  return (
    <Table columns={['Execution', 'Server', 'Tool', 'Status', 'Caller', 'Started', 'Duration']}>
      {executions.map((e) => (
        <tr key={e.execution_id}>
          <th scope="row">
            <a class="mono" href={`#/${link}/${e.execution_id}`} aria-label={`Open execution ${e.execution_id}`}>
              {e.execution_id.slice(0, 8)}
            </a>
          </th>
          <td>{e.server_id}</td>
          <td class="mono">{e.tool_name}</td>
          <td>
            <Status value={e.status} />
          </td>
          <td>
            {onCaller ? (
              <button class="link" onClick={() => onCaller(e.principal)} aria-label={`Only calls by ${e.principal}`}>
                {e.principal}
              </button>
            ) : (
              e.principal
            )}
          </td>
          <td>{when(e.started_at)}</td>
          <td>{e.duration_ms === null ? '—' : `${e.duration_ms} ms`}</td>
        </tr>
      ))}
    </Table>
  );
}

export function ExecutionPage({ id }: { id: string }) {
  const execution = useLoad(() => api<Execution>('GET', `/api/executions/${encodeURIComponent(id)}`), [id]);
  const e = execution.data;
  return (
    <>
      <p>
        <a href="#/executions">← All executions</a>
      </p>
      <Section title={`Execution ${id}`} actions={<button onClick={execution.reload}>Refresh</button>}>
        <ErrorMessage error={execution.error} />
        {e && (
          <>
            <dl class="facts">
              <dt>Tool</dt>
              <dd class="mono">
                {e.server_id} / {e.tool_name}
              </dd>
              <dt>Status</dt>
              <dd>
                <Status value={e.status} />
              </dd>
              <dt>Caller</dt>
              <dd>
                {e.principal} ({e.channel})
              </dd>
              <dt>Started</dt>
              <dd>{when(e.started_at)}</dd>
              <dt>Completed</dt>
              <dd>{when(e.completed_at)}</dd>
              <dt>Duration</dt>
              <dd>{e.duration_ms === null ? '—' : `${e.duration_ms} ms`}</dd>
            </dl>
            <h3>Arguments</h3>
            <Json value={e.parameters} label="Arguments" />
            <h3>Result</h3>
            <Json value={e.result ?? e.error ?? null} label="Result" />
          </>
        )}
      </Section>
    </>
  );
}
