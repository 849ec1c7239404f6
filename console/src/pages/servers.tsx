import { useState } from 'preact/hooks';
import { api } from '../api';
import { SchemaForm } from '../schema-form';
import type { ServerDetails, ServerSummary, Tool } from '../types';
import { ErrorMessage, Json, Section, Status, useCan, useLoad, when, Table } from '../ui';

/** Servers at a glance: the list, then each one's details (restarts and last error are only there). */
export async function loadServers(): Promise<ServerDetails[]> {
  const { servers } = await api<{ servers: ServerSummary[] }>('GET', '/api/servers?limit=100');
  return Promise.all(servers.map((s) => api<ServerDetails>('GET', `/api/servers/${encodeURIComponent(s.id)}`)));
}

export function ServersPage() {
  const servers = useLoad(loadServers, []);
  const admin = useCan('mcp:admin');
  const [acting, setActing] = useState<unknown>();

  const restart = async (id: string) => {
    setActing(undefined);
    try {
      await api('POST', `/api/servers/${encodeURIComponent(id)}/restart`);
    } catch (error) {
      setActing(error);
    }
    servers.reload();
  };

  return (
    <Section title="Servers" actions={<button onClick={servers.reload}>Refresh</button>}>
      <ErrorMessage error={servers.error ?? acting} />
      <Table
        columns={['Server', 'Status', 'Health', 'Transport', 'Tools', 'Restarts', 'Last error', admin && 'Actions']}
      >
        {servers.data?.map((server) => (
          <tr key={server.id} data-server={server.id}>
            <th scope="row">
              <a href={`#/servers/${encodeURIComponent(server.id)}`}>{server.name}</a>
              {server.id !== server.name && <div class="hint">{server.id}</div>}
            </th>
            <td>
              <Status value={server.status} />
            </td>
            <td>
              <Status value={server.health.status} />
            </td>
            <td>{server.type}</td>
            <td>{server.capabilities.tools}</td>
            <td>{server.metrics.restarts}</td>
            <td class={server.last_error ? 'last-error' : undefined}>
              {server.last_error ? `${server.last_error} (${when(server.last_error_at)})` : '—'}
            </td>
            {admin && (
              <td>
                <button onClick={() => void restart(server.id)} aria-label={`Restart ${server.name}`}>
                  Restart
                </button>
              </td>
            )}
          </tr>
        ))}
      </Table>
      {servers.data?.length === 0 && <p>No server is registered.</p>}
    </Section>
  );
}

export function ServerPage({ id }: { id: string }) {
  const path = `/api/servers/${encodeURIComponent(id)}`;
  const server = useLoad(() => api<ServerDetails>('GET', path), [id]);
  const tools = useLoad(() => api<{ tools: Tool[] }>('GET', `${path}/tools`), [id]);
  const s = server.data;
  return (
    <>
      <p>
        <a href="#/servers">← All servers</a>
      </p>
      <Section title={s ? `Server ${s.name}` : `Server ${id}`}>
        <ErrorMessage error={server.error} />
        {s && (
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Status value={s.status} /> <Status value={s.health.status} />
            </dd>
            <dt>Transport</dt>
            <dd>{s.type}</dd>
            <dt>Endpoint</dt>
            <dd class="mono">{s.endpoint}</dd>
            <dt>Calls / errors</dt>
            <dd>
              {s.metrics.requests_total} / {s.metrics.errors_total} (avg {s.metrics.avg_response_time_ms.toFixed(1)} ms)
            </dd>
            <dt>Restarts</dt>
            <dd>{s.metrics.restarts}</dd>
            <dt>Last error</dt>
            <dd>{s.last_error ?? '—'}</dd>
          </dl>
        )}
      </Section>
      <Section title="Tools">
        <ErrorMessage error={tools.error} />
        {tools.data?.tools.map((tool) => (
          <ToolPanel key={tool.name} server={id} tool={tool} />
        ))}
      </Section>
    </>
  );
}

function ToolPanel({ server, tool }: { server: string; tool: Tool }) {
  const canRun = useCan('mcp:write');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<unknown>();
  const [error, setError] = useState<unknown>();
  const path = `/api/servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool.name)}`;

  const run = async (args: Record<string, unknown>, action: string) => {
    setBusy(true);
    setError(undefined);
    setOutcome(undefined);
    try {
      if (action === 'job') {
        const job = await api<{ execution_id: string }>('POST', `${path}?mode=async`, args);
        location.hash = `#/jobs/${job.execution_id}`;
      } else {
        setOutcome(await api('POST', path, args));
      }
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="tool" data-tool={tool.name}>
      <summary>
        <span class="mono">{tool.name}</span> {tool.description && <span class="hint">— {tool.description}</span>}
      </summary>
      <details class="schema">
        <summary>Input schema</summary>
        <Json value={tool.input_schema} label={`Input schema of ${tool.name}`} />
      </details>
      {canRun ? (
        <SchemaForm
          schema={tool.input_schema}
          idPrefix={`tool-${tool.name}`}
          busy={busy}
          actions={[
            { name: 'call', label: 'Call' },
            { name: 'job', label: 'Start as job' },
          ]}
          onSubmit={(args, action) => void run(args, action)}
        />
      ) : (
        <p class="hint">Calling tools needs the mcp:write scope.</p>
      )}
      <ErrorMessage error={error} />
      {outcome !== undefined && (
        <div class="result" aria-live="polite">
          <h3>Result</h3>
          <Json value={outcome} label={`Result of ${tool.name}`} />
        </div>
      )}
    </details>
  );
}
