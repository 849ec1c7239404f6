import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, CREDENTIAL_REFUSED, api, credential } from './api';
import { ExecutionPage, ExecutionsPage } from './pages/executions';
import { HealthPage } from './pages/health';
import { JobPage, JobsPage } from './pages/jobs';
import { KeysPage } from './pages/keys';
import { ServerPage, ServersPage } from './pages/servers';
import { WebhookPage, WebhooksPage } from './pages/webhooks';
import type { Me } from './types';
import { ErrorMessage, MeContext, formText } from './ui';
import { SignInError, finishSignIn, isCallback, loadSettings, startSignIn, type OAuth2Settings } from './oauth';

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
  { path: 'webhooks', label: 'Webhooks', admin: true },
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
    case 'webhooks':
      return id ? <WebhookPage id={id} /> : <WebhooksPage />;
    default:
      return <HealthPage />;
  }
}

function Login({
  onKey,
  onOAuth2,
  oauth2,
  error,
}: {
  onKey: (key: string) => void;
  onOAuth2: () => void;
  oauth2: OAuth2Settings | null;
  error: unknown;
}) {
  return (
    <main class="login">
      <h1>globalmcp console</h1>
      <ErrorMessage error={error} />
      {oauth2 && (
        <section aria-label="Sign in with your identity provider" class="sso">
          <button type="button" onClick={onOAuth2}>
            Sign in with your identity provider
          </button>
          <small class="hint">
            {new URL(oauth2.issuer).host}: you come back here signed in; the token is kept for this tab only.
          </small>
          <p class="or">or with an API key</p>
        </section>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onKey(formText(new FormData(e.currentTarget), 'apiKey'));
        }}
      >
        <div class="field">
          <label for="api-key">API key</label>
          <input id="api-key" name="apiKey" type="password" autoComplete="off" required />
          <small class="hint">Kept for this browser tab only (sessionStorage) and sent as X-API-Key.</small>
        </div>
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
  const [checking, setChecking] = useState(true);
  const [error, setError] = useState<unknown>();
  const [oauth2, setOAuth2] = useState<OAuth2Settings | null>(null);

  const identify = async () => {
    const held = credential.get();
    if (!held) return;
    if (held.kind === 'bearer' && held.expiresAt !== null && held.expiresAt <= Date.now()) {
      credential.clear();
      setError(new Error('Your sign-in has expired. Sign in again.'));
      return;
    }
    try {
      setMe(await api<Me>('GET', '/api/auth/me'));
      setError(undefined);
    } catch (failure) {
      credential.clear();
      setMe(null);
      setError(
        failure instanceof ApiError && failure.status === 401
          ? new Error(
              held.kind === 'key' ? 'That key was not accepted.' : 'The gateway did not accept the sign-in token.',
            )
          : failure,
      );
    }
  };
  useEffect(() => {
    // A credential refused after sign-in (a token that expired, a key revoked meanwhile): back to the sign-in page
    const refused = () => {
      if (!credential.get()) return;
      credential.clear();
      setMe(null);
      setError(new Error('The gateway no longer accepts your sign-in (expired or revoked). Sign in again.'));
    };
    addEventListener(CREDENTIAL_REFUSED, refused);
    return () => removeEventListener(CREDENTIAL_REFUSED, refused);
  }, []);
  useEffect(() => {
    void (async () => {
      try {
        const settings = await loadSettings().catch(() => null);
        setOAuth2(settings);
        if (isCallback()) {
          if (!settings) throw new SignInError('Sign-in with an identity provider is not configured on this gateway.');
          credential.clear();
          await finishSignIn(settings);
        }
        await identify();
      } catch (failure) {
        setError(failure);
      } finally {
        setChecking(false);
      }
    })();
  }, []);

  if (checking) return <p>Checking your sign-in…</p>;
  if (!me)
    return (
      <Login
        error={error}
        oauth2={oauth2}
        onKey={(key) => {
          credential.set({ kind: 'key', key });
          void identify();
        }}
        onOAuth2={() => {
          if (oauth2) startSignIn(oauth2).catch((failure: unknown) => setError(failure));
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
            {me.subject} <span class="hint">({me.scopes.join(' ') || 'no scopes'})</span>
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
