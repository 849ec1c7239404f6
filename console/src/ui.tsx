import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import type { Me, Scope } from './types';

export const MeContext = createContext<Me | null>(null);

/** Whether the caller holds a scope, as the API decides it: `mcp:admin` implies every scope. */
export function useCan(scope: Scope): boolean {
  const me = useContext(MeContext);
  return !!me && (me.scopes.includes('mcp:admin') || me.scopes.includes(scope));
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change (and on reload()), keeping the last data while a reload runs. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (value) => live && (setData(value), setError(undefined), setLoading(false)),
      (failure: unknown) => live && (setError(failure), setLoading(false)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data, error, loading, reload: useCallback(() => setTick((t) => t + 1), []) };
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${error.code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`
      : error instanceof Error
        ? error.message
        : 'Unexpected error';
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Status({ value }: { value: string }) {
  const tone = /^(up|active|completed|delivered)$/i.test(value)
    ? 'ok'
    : /^(running|pending|unknown|inactive)$/i.test(value)
      ? 'busy'
      : 'bad';
  return <span class={`status status-${tone}`}>{value}</span>;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section aria-label={title}>
      <header class="section-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** A text field of a submitted form ('' when absent or a file). */
export function formText(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === 'string' ? value.trim() : '';
}

/** A table that scrolls sideways on a narrow screen, its header row from `columns`. */
export function Table({ columns, children }: { columns: (string | false)[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {columns
              .filter((c): c is string => c !== false)
              .map((column) => (
                <th scope="col" key={column}>
                  {column}
                </th>
              ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A secret the page is given (or makes) once: in a read-only field until dismissed, then never shown again. */
export function ShownOnce({
  id,
  label,
  value,
  onDismiss,
  children,
}: {
  id: string;
  label: string;
  value: string;
  onDismiss: () => void;
  children: ComponentChildren;
}) {
  return (
    <div class="created" role="status">
      <p>{children}</p>
      <label for={id}>{label}</label>
      <input id={id} class="mono" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      <button onClick={onDismiss}>I have copied it</button>
    </div>
  );
}

/** A destructive action of a table row: the first press asks ("Confirm …", in red), the second does it. */
export function ConfirmButton({
  action,
  confirm,
  what,
  asking,
  onAsk,
  onConfirm,
}: {
  /** The button's word, e.g. Revoke. */
  action: string;
  /** The second press's words, e.g. Confirm revoking. */
  confirm: string;
  what: string;
  asking: boolean;
  onAsk: () => void;
  onConfirm: () => void;
}) {
  return asking ? (
    <button class="danger" onClick={onConfirm}>
      {confirm} {what}
    </button>
  ) : (
    <button onClick={onAsk} aria-label={`${action} ${what}`}>
      {action}
    </button>
  );
}
