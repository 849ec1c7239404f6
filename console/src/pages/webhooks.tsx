import { useState } from 'preact/hooks';
import { api, query } from '../api';
import type { Delivery, Pagination, Webhook } from '../types';
import { ConfirmButton, ErrorMessage, Json, Section, ShownOnce, Status, Table, formText, useLoad, when } from '../ui';

/** The events a webhook may subscribe to (POST /api/webhooks). */
const EVENTS = ['server.connected', 'server.disconnected', 'server.error', 'tool.executed', 'tool.failed'];

/** A signing secret made in the browser (32 random bytes, base64url): the API stores it encrypted, never returns it. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')}`;
}

interface Created {
  webhook: Webhook;
  secret: string;
}

/** Webhooks: subscribe (the signing secret is shown once, in this component's state only), list, delete. Admins only. */
export function WebhooksPage() {
  const hooks = useLoad(() => api<{ webhooks: Webhook[] }>('GET', '/api/webhooks'), []);
  const [created, setCreated] = useState<Created | null>(null);
  const [error, setError] = useState<unknown>();
  const [confirming, setConfirming] = useState<string | null>(null);

  const create = async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const secret = newSecret();
    setError(undefined);
    try {
      const webhook = await api<Webhook>('POST', '/api/webhooks', {
        url: formText(data, 'url'),
        events: data.getAll('events').map(String),
        secret,
        active: data.get('active') === 'on',
      });
      setCreated({ webhook, secret });
      form.reset();
      hooks.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  const remove = async (id: string) => {
    setConfirming(null);
    try {
      await api('DELETE', `/api/webhooks/${id}`);
    } catch (failure) {
      setError(failure);
    }
    hooks.reload();
  };

  return (
    <>
      <Section title="Add a webhook">
        <form
          class="key-form"
          onSubmit={(e) => {
            e.preventDefault();
            void create(e.currentTarget);
          }}
        >
          <div class="field">
            <label for="webhook-url">Receiver URL</label>
            <input id="webhook-url" name="url" type="url" required maxLength={2048} placeholder="https://" />
          </div>
          <fieldset>
            <legend>Events</legend>
            {EVENTS.map((event) => (
              <label key={event} class="inline">
                <input type="checkbox" name="events" value={event} defaultChecked={event === 'tool.failed'} /> {event}
              </label>
            ))}
          </fieldset>
          <label class="inline">
            <input type="checkbox" name="active" defaultChecked /> Active (inactive webhooks get no deliveries)
          </label>
          <p class="hint">A signing secret is made here and shown once, after the webhook is added.</p>
          <div class="actions">
            <button type="submit">Add webhook</button>
          </div>
        </form>
        <ErrorMessage error={error} />
        {created && (
          <ShownOnce
            id="created-secret"
            label="Signing secret"
            value={created.secret}
            onDismiss={() => setCreated(null)}
          >
            Webhook for <span class="mono">{created.webhook.url}</span> added. Copy its signing secret now: it is shown
            only once (the receiver checks X-GlobalMCP-Signature with it).
          </ShownOnce>
        )}
      </Section>
      <Section title="Webhooks" actions={<button onClick={hooks.reload}>Refresh</button>}>
        <ErrorMessage error={hooks.error} />
        <Table columns={['Receiver', 'Events', 'State', 'Created', 'Actions']}>
          {hooks.data?.webhooks.map((hook) => (
            <tr key={hook.id} data-webhook={hook.url}>
              <th scope="row">
                <a class="mono" href={`#/webhooks/${hook.id}`} aria-label={`Deliveries of ${hook.url}`}>
                  {hook.url}
                </a>
              </th>
              <td>{hook.events.join(', ')}</td>
              <td>
                <Status value={hook.active ? 'active' : 'inactive'} />
              </td>
              <td>{when(hook.created_at)}</td>
              <td>
                <ConfirmButton
                  action="Delete"
                  confirm="Confirm deleting"
                  what={hook.url}
                  asking={confirming === hook.id}
                  onAsk={() => setConfirming(hook.id)}
                  onConfirm={() => void remove(hook.id)}
                />
              </td>
            </tr>
          ))}
        </Table>
        {hooks.data?.webhooks.length === 0 && <p class="hint">No webhooks yet.</p>}
      </Section>
    </>
  );
}

const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'];

/** One webhook and its deliveries, newest first, each with its attempts and payload. */
export function WebhookPage({ id }: { id: string }) {
  const [status, setStatus] = useState('');
  const hook = useLoad(() => api<Webhook>('GET', `/api/webhooks/${encodeURIComponent(id)}`), [id]);
  const deliveries = useLoad(
    () =>
      api<{ deliveries: Delivery[]; pagination: Pagination }>(
        'GET',
        `/api/webhooks/${encodeURIComponent(id)}/deliveries${query({ status, limit: 50 })}`,
      ),
    [id, status],
  );
  const h = hook.data;
  return (
    <>
      <p>
        <a href="#/webhooks">← All webhooks</a>
      </p>
      <Section
        title={h ? `Webhook ${h.url}` : 'Webhook'}
        actions={
          <button
            onClick={() => {
              hook.reload();
              deliveries.reload();
            }}
          >
            Refresh
          </button>
        }
      >
        <ErrorMessage error={hook.error} />
        {h && (
          <dl class="facts">
            <dt>Receiver</dt>
            <dd class="mono">{h.url}</dd>
            <dt>Events</dt>
            <dd>{h.events.join(', ')}</dd>
            <dt>State</dt>
            <dd>
              <Status value={h.active ? 'active' : 'inactive'} />
            </dd>
            <dt>Created</dt>
            <dd>{when(h.created_at)}</dd>
          </dl>
        )}
      </Section>
      <Section title="Deliveries">
        <div class="filters">
          <div class="field">
            <label for="delivery-status">Status</label>
            <select id="delivery-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
              <option value="">any</option>
              {DELIVERY_STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </div>
        </div>
        <ErrorMessage error={deliveries.error} />
        <Table columns={['Event', 'Status', 'Attempts', 'Last answer', 'Created', 'Delivered / next attempt']}>
          {deliveries.data?.deliveries.map((d) => (
            <tr key={d.id} data-delivery={d.id}>
              <th scope="row">
                <details>
                  <summary>{d.event}</summary>
                  <p class="mono hint">{d.id}</p>
                  <Json value={d.payload} label={`Payload of delivery ${d.id}`} />
                  <ol class="log" aria-label={`Attempts of delivery ${d.id}`}>
                    {d.attempt_log.map((a) => (
                      <li key={a.attempt}>
                        {when(a.attempted_at)}: {a.outcome}
                        {a.status_code !== null ? ` HTTP ${a.status_code}` : ''}
                        {a.error ? ` ${a.error}` : ''} ({a.duration_ms} ms, {a.instance})
                      </li>
                    ))}
                  </ol>
                </details>
              </th>
              <td>
                <Status value={d.status} />
              </td>
              <td>{d.attempts}</td>
              <td>{d.last_status_code !== null ? `HTTP ${d.last_status_code}` : (d.last_error ?? '—')}</td>
              <td>{when(d.created_at)}</td>
              <td>{d.delivered_at ? when(d.delivered_at) : when(d.next_attempt_at)}</td>
            </tr>
          ))}
        </Table>
        {deliveries.data && (
          <p class="hint">
            {deliveries.data.deliveries.length} of {deliveries.data.pagination.total}
          </p>
        )}
      </Section>
    </>
  );
}
