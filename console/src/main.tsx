import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, credential } from './api';
import { ExecutionPage, ExecutionsPage } from './pages/executions';
import { HealthPage } from './pages/health';
import { JobPage, JobsPage } from './pages/jobs';
import { KeysPage } from './pages/keys';
import { ServerPage, ServersPage } from './pages/servers';
import type { Me } from './types';
import { ErrorMessage, MeContext, formText } from './ui';

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return hash;
}

interface Page {
  path: string;
  label: string;
  admin?: boolean;
}

const PAGES: Page[] = [
  { path: 'servers', label: 'Servers' },
  { path: 'executions', label: 'Executions' },
  { path: 'jobs', label: 'Jobs' },
  { path: 'keys', label: 'API keys', admin: true },
  { path: 'health', label: 'Health', admin: true },
];

function Route({ hash, admin }: { hash: string; admin: boolean }) {
  const [first, id] = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const section = first || 'servers';
  const page = PAGES.find((p) => p.path === section);
  if (!page || (page.admin && !admin)) return <p role="alert">There is no page here for your key.</p>;
  switch (section) {
    case 'servers':
      return id ? <ServerPage id={id} /> : <ServersPage />;
    case 'executions':
      return id ? <ExecutionPage id={id} /> : <ExecutionsPage />;
    case 'jobs':
      return id ? <JobPage id={id} /> : <JobsPage />;
    case 'keys':
      return <KeysPage />;
    default:
      return <HealthPage />;
  }
}

function Login({ onLogin, error }: { onLogin: (key: string) => void; error: unknown }) {
  return (
    <main class="login">
      <h1>globalmcp console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onLogin(formText(new FormData(e.currentTarget), 'apiKey'));
        }}
      >
        <div class="field">
          <label for="api-key">API key</label>
          <input id="api-key" name="apiKey" type="password" autoComplete="off" required />
          <small class="hint">Kept for this browser tab only (sessionStorage) and sent as X-API-Key.</small>
        </div>
        <ErrorMessage error={error} />
        <div class="actions">
          <button type="submit">Sign in</button>
        </div>
      </form>
    </main>
  );
}

function App() {
  const hash = useHash();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(credential.get() !== null);
  const [error, setError] = useState<unknown>();

  const identify = async () => {
    try {
      setMe(await api<Me>('GET', '/api/auth/me'));
      setError(undefined);
    } catch (failure) {
      credential.clear();
      setMe(null);
      setError(
        failure instanceof ApiError && failure.status === 401 ? new Error('That key was not accepted.') : failure,
      );
    } finally {
      setChecking(false);
    }
  };
  useEffect(() => {
    if (credential.get()) void identify();
  }, []);

  if (checking) return <p>Checking your key…</p>;
  if (!me)
    return (
      <Login
        error={error}
        onLogin={(key) => {
          credential.set(key);
          void identify();
        }}
      />
    );

  const admin = me.scopes.includes('mcp:admin');
  const section = hash.replace(/^#\/?/, '').split('/')[0] || 'servers';
  return (
    <MeContext.Provider value={me}>
      <header class="top">
        <h1>globalmcp</h1>
        <nav aria-label="Console">
          <ul>
            {PAGES.filter((p) => admin || !p.admin).map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={section === p.path ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {me.subject} <span class="hint">({me.scopes.join(' ')})</span>
          </span>
          <button
            onClick={() => {
              credential.clear();
              setMe(null);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Route hash={hash} admin={admin} />
      </main>
    </MeContext.Provider>
  );
}

const root = document.getElementById('app');
if (root) {
  root.textContent = ''; // the static "Loading" line, which render() would otherwise keep
  render(<App />, root);
}
