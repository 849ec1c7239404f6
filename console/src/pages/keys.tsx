import { useState } from 'preact/hooks';
import { api } from '../api';
import type { ApiKey } from '../types';
import { ConfirmButton, ErrorMessage, Section, ShownOnce, Status, formText, useLoad, when, Table } from '../ui';

const SCOPES = ['mcp:read', 'mcp:write', 'mcp:admin'];

interface Created extends ApiKey {
  key: string;
}

/** API keys: create (the key is shown once, in this component's state only), list, revoke. Admins only. */
export function KeysPage() {
  const keys = useLoad(() => api<{ api_keys: ApiKey[] }>('GET', '/api/api-keys'), []);
  const [created, setCreated] = useState<Created | null>(null);
  const [error, setError] = useState<unknown>();
  const [confirming, setConfirming] = useState<string | null>(null);

  const create = async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const servers = formText(data, 'servers')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const tier = formText(data, 'tier');
    setError(undefined);
    try {
      setCreated(
        await api<Created>('POST', '/api/api-keys', {
          name: formText(data, 'name'),
          scopes: data.getAll('scopes').map(String),
          ...(tier ? { tier } : {}),
          ...(servers.length ? { server_ids: servers } : {}),
        }),
      );
      form.reset();
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  const revoke = async (id: string) => {
    setConfirming(null);
    try {
      await api('DELETE', `/api/api-keys/${id}`);
    } catch (failure) {
      setError(failure);
    }
    keys.reload();
  };

  return (
    <>
      <Section title="Create an API key">
        <form
          class="key-form"
          onSubmit={(e) => {
            e.preventDefault();
            void create(e.currentTarget);
          }}
        >
          <div class="field">
            <label for="key-name">Name</label>
            <input id="key-name" name="name" required maxLength={200} />
          </div>
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((scope) => (
              <label key={scope} class="inline">
                <input type="checkbox" name="scopes" value={scope} defaultChecked={scope === 'mcp:read'} /> {scope}
              </label>
            ))}
          </fieldset>
          <div class="field">
            <label for="key-tier">Tier (optional)</label>
            <input id="key-tier" name="tier" />
          </div>
          <div class="field">
            <label for="key-servers">Servers (comma-separated; empty: every server)</label>
            <input id="key-servers" name="servers" />
          </div>
          <div class="actions">
            <button type="submit">Create key</button>
          </div>
        </form>
        <ErrorMessage error={error} />
        {created && (
          <ShownOnce id="created-key" label="New API key" value={created.key} onDismiss={() => setCreated(null)}>
            Key <strong>{created.name}</strong> created. Copy it now: it is shown only once.
          </ShownOnce>
        )}
      </Section>
      <Section title="API keys" actions={<button onClick={keys.reload}>Refresh</button>}>
        <ErrorMessage error={keys.error} />
        <Table columns={['Name', 'Prefix', 'Scopes', 'Tier', 'Servers', 'Last used', 'State', 'Actions']}>
          {keys.data?.api_keys.map((key) => (
            <tr key={key.id} data-key={key.name}>
              <th scope="row">{key.name}</th>
              <td class="mono">{key.prefix}…</td>
              <td>{key.scopes.join(' ')}</td>
              <td>{key.tier ?? '—'}</td>
              <td>{key.server_ids?.join(', ') ?? 'all'}</td>
              <td>{when(key.last_used_at)}</td>
              <td>{key.revoked_at ? <Status value="revoked" /> : <Status value="active" />}</td>
              <td>
                {!key.revoked_at && (
                  <ConfirmButton
                    action="Revoke"
                    confirm="Confirm revoking"
                    what={key.name}
                    asking={confirming === key.id}
                    onAsk={() => setConfirming(key.id)}
                    onConfirm={() => void revoke(key.id)}
                  />
                )}
              </td>
            </tr>
          ))}
        </Table>
      </Section>
    </>
  );
}
