import { useEffect, useState } from 'preact/hooks';
import { api, followEvents, type JobEvent } from '../api';
import type { Execution } from '../types';
import { ErrorMessage, Json, Section, Status, useCan, useLoad } from '../ui';
import { ExecutionTable } from './executions';

/** The running jobs (executions still running), each opening its live view. */
export function JobsPage() {
  const running = useLoad(
    () => api<{ executions: Execution[] }>('GET', '/api/executions?status=running&limit=100'),
    [],
  );
  return (
    <Section title="Running jobs" actions={<button onClick={running.reload}>Refresh</button>}>
      <p class="hint">Start a job from a tool's form (“Start as job”) on a server's page.</p>
      <ErrorMessage error={running.error} />
      <ExecutionTable executions={running.data?.executions ?? []} link="jobs" />
      {running.data?.executions.length === 0 && <p>No job is running.</p>}
    </Section>
  );
}

interface JobState {
  status: string;
  progress: number | null;
  total: number | null;
  message: string | null;
  logs: string[];
  final: Record<string, unknown> | null;
}

const FINAL = new Set(['result', 'error', 'cancelled', 'interrupted']);

function reduce(state: JobState, event: JobEvent): JobState {
  const d = event.data;
  switch (event.type) {
    case 'status':
      return { ...state, status: String(d.status) };
    case 'progress':
      return {
        ...state,
        progress: typeof d.progress === 'number' ? d.progress : state.progress,
        total: typeof d.total === 'number' ? d.total : state.total,
        message: typeof d.message === 'string' ? d.message : state.message,
      };
    case 'log':
      return { ...state, logs: [...state.logs, typeof d.data === 'string' ? d.data : JSON.stringify(d.data)] };
    default:
      if (!FINAL.has(event.type)) return state;
      return { ...state, status: typeof d.status === 'string' ? d.status : event.type, final: d };
  }
}

/** One job, live: its progress from the event stream until its final event; cancel while it runs. */
export function JobPage({ id }: { id: string }) {
  const canCancel = useCan('mcp:write');
  const [state, setState] = useState<JobState>({
    status: 'connecting',
    progress: null,
    total: null,
    message: null,
    logs: [],
    final: null,
  });
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    const abort = new AbortController();
    followEvents(id, (event) => setState((current) => reduce(current, event)), abort.signal).catch(
      (failure: unknown) => {
        if (!abort.signal.aborted) setError(failure);
      },
    );
    return () => abort.abort();
  }, [id]);

  const cancel = async () => {
    try {
      await api('POST', `/api/executions/${encodeURIComponent(id)}/cancel`);
    } catch (failure) {
      setError(failure);
    }
  };
  const running = state.final === null;
  const percent = state.progress !== null && state.total ? Math.round((100 * state.progress) / state.total) : null;

  return (
    <>
      <p>
        <a href="#/jobs">← Running jobs</a> · <a href={`#/executions/${id}`}>Execution record</a>
      </p>
      <Section title={`Job ${id}`}>
        <ErrorMessage error={error} />
        <p>
          Status: <Status value={state.status} />
        </p>
        <label for="job-progress">
          Progress{percent !== null ? `: ${state.progress} of ${state.total} (${percent}%)` : ''}
        </label>
        <progress
          id="job-progress"
          max={state.total ?? 1}
          value={running ? (state.progress ?? undefined) : (state.total ?? 1)}
        />
        <p class="hint" aria-live="polite" data-progress={state.progress ?? ''}>
          {state.message ?? ''}
        </p>
        {running && canCancel && (
          <button class="danger" onClick={() => void cancel()}>
            Cancel job
          </button>
        )}
        {state.logs.length > 0 && (
          <>
            <h3>Log</h3>
            <ul class="log">
              {state.logs.map((line, i) => (
                <li key={i}>{line}</li>
              ))}
            </ul>
          </>
        )}
        {state.final && (
          <div aria-live="polite">
            <h3>Outcome</h3>
            <Json value={state.final} label="Outcome" />
          </div>
        )}
      </Section>
    </>
  );
}
