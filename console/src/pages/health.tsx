import { api } from '../api';
import { ErrorMessage, Section, Status, useLoad, Table } from '../ui';
import { loadServers } from './servers';

interface Health {
  status: string;
  version: string;
  uptime_seconds: number;
  checks: {
    database: string;
    redis: string;
    memory: { status: string; heap_used_bytes: number; rss_bytes: number };
    servers: { status: string; active_count: number; total_count: number };
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** What an operator looks at first: the gateway's health and each upstream's traffic, errors and latency. */
export function HealthPage() {
  const health = useLoad(() => api<Health>('GET', '/api/health'), []);
  const servers = useLoad(loadServers, []);
  const h = health.data;
  const reload = () => {
    health.reload();
    servers.reload();
  };
  return (
    <>
      <Section title="Health" actions={<button onClick={reload}>Refresh</button>}>
        <ErrorMessage error={health.error} />
        {h && (
          <dl class="facts">
            <dt>Gateway</dt>
            <dd>
              <Status value={h.status} /> version {h.version}, up {Math.round(h.uptime_seconds / 60)} min
            </dd>
            <dt>Database</dt>
            <dd>
              <Status value={h.checks.database} />
            </dd>
            <dt>Redis</dt>
            <dd>
              <Status value={h.checks.redis} />
            </dd>
            <dt>Memory</dt>
            <dd>
              <Status value={h.checks.memory.status} /> heap {mb(h.checks.memory.heap_used_bytes)}, RSS{' '}
              {mb(h.checks.memory.rss_bytes)}
            </dd>
            <dt>Servers</dt>
            <dd>
              <Status value={h.checks.servers.status} /> {h.checks.servers.active_count} of{' '}
              {h.checks.servers.total_count} active
            </dd>
          </dl>
        )}
      </Section>
      <Section title="Upstream metrics">
        <ErrorMessage error={servers.error} />
        <Table columns={['Server', 'Calls', 'Errors', 'Error rate', 'Avg latency', 'In flight', 'Restarts']}>
          {servers.data?.map(({ id, metrics: m }) => (
            <tr key={id}>
              <th scope="row">{id}</th>
              <td>{m.requests_total}</td>
              <td>{m.errors_total}</td>
              <td>{m.requests_total ? `${((100 * m.errors_total) / m.requests_total).toFixed(1)}%` : '—'}</td>
              <td>{m.avg_response_time_ms.toFixed(1)} ms</td>
              <td>{m.in_flight}</td>
              <td>{m.restarts}</td>
            </tr>
          ))}
        </Table>
        <p class="hint">Prometheus metrics and the actuator are on the management port (see docs/operations.md).</p>
      </Section>
    </>
  );
}
