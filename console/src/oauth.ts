/**
 * Sign-in at the gateway's OAuth2 issuer: the authorization code flow with PKCE (S256) for a public client, done by
 * oauth4webapi (discovery, the authorization response's checks: state, issuer, error; the token request and its
 * response). The access token is kept in sessionStorage (this tab) and sent to the API as a bearer token; nothing
 * is stored in cookies or localStorage. What this file adds: where the pending sign-in is kept between the two page
 * loads, and messages a person can act on.
 */
import * as oauth from 'oauth4webapi';
import { credential } from './api';

/** GET /console/config.json: the issuer and the console's public client, when the gateway has both. */
export interface OAuth2Settings {
  issuer: string;
  client_id: string;
  scopes: string[];
  resource: string | null;
}

/** The pending sign-in between leaving for the issuer and coming back: single use, this tab only. */
interface Pending {
  state: string;
  verifier: string;
  /** The console page (hash) to return to. */
  hash: string;
}

const PENDING = 'globalmcp.oauth.pending';

/** A sign-in that failed for a reason the person should read (shown in the sign-in page's alert). */
export class SignInError extends Error {}

export async function loadSettings(): Promise<OAuth2Settings | null> {
  const res = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
  if (!res.ok) return null;
  return ((await res.json()) as { oauth2: OAuth2Settings | null }).oauth2;
}

/** The console's redirect URI: the page itself, which the issuer must know for this client. */
export const redirectUri = (): string => `${location.origin}/console`;

// oauth4webapi refuses plain http; a loopback issuer (a developer's or a test's) is allowed it, nothing else.
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;
function requestOptions(issuer: URL): { [oauth.allowInsecureRequests]?: boolean } {
  return issuer.protocol === 'http:' && LOOPBACK.test(issuer.hostname) ? { [oauth.allowInsecureRequests]: true } : {};
}

async function discover(settings: OAuth2Settings): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(settings.issuer);
  try {
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(issuer) });
    return await oauth.processDiscoveryResponse(issuer, response);
  } catch (error) {
    throw new SignInError(`The identity provider ${settings.issuer} could not be reached: ${describe(error)}`);
  }
}

/** Leaves for the issuer's authorization endpoint with a fresh state and PKCE challenge. */
export async function startSignIn(settings: OAuth2Settings): Promise<void> {
  const as = await discover(settings);
  if (!as.authorization_endpoint) throw new SignInError('The identity provider has no authorization endpoint.');
  const pending: Pending = {
    state: oauth.generateRandomState(),
    verifier: oauth.generateRandomCodeVerifier(),
    hash: location.hash,
  };
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', settings.client_id);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', settings.scopes.join(' '));
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', pending.state);
  if (settings.resource) url.searchParams.set('resource', settings.resource);
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  location.assign(url.href);
}

/** Whether this page load is the issuer sending the browser back (an authorization response). */
export const isCallback = (): boolean => {
  const params = new URLSearchParams(location.search);
  return params.has('state') || params.has('code') || params.has('error');
};

/**
 * Finishes a sign-in on the way back from the issuer: checks the response against the pending sign-in of this tab
 * (state first, so a forged or replayed answer is refused before anything is sent), exchanges the code with the
 * verifier, and keeps the access token. The address bar loses the code either way.
 */
export async function finishSignIn(settings: OAuth2Settings): Promise<void> {
  const answer = new URL(location.href);
  const stored = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  const pending = stored ? (JSON.parse(stored) as Pending) : null;
  history.replaceState(null, '', `/console${pending?.hash ?? ''}`);

  const state = answer.searchParams.get('state');
  if (!pending) {
    throw new SignInError('Sign-in refused: this tab did not start a sign-in (or already finished it). Sign in again.');
  }
  if (state !== pending.state) {
    throw new SignInError(
      'Sign-in refused: the answer from the identity provider does not match the sign-in this tab started ' +
        '(wrong state). Nothing was signed in; sign in again.',
    );
  }
  const as = await discover(settings);
  const client: oauth.Client = { client_id: settings.client_id };
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, answer, pending.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new SignInError(
        `The identity provider refused the sign-in: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`,
      );
    }
    throw new SignInError(`Sign-in refused: ${describe(error)}`);
  }
  const issuer = new URL(settings.issuer);
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri(),
      pending.verifier,
      {
        ...requestOptions(issuer),
        ...(settings.resource ? { additionalParameters: { resource: settings.resource } } : {}),
      },
    );
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
    credential.set({
      kind: 'bearer',
      token: tokens.access_token,
      expiresAt: tokens.expires_in === undefined ? null : Date.now() + tokens.expires_in * 1000,
    });
  } catch (error) {
    throw new SignInError(`The token request failed: ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  if (error instanceof oauth.ResponseBodyError)
    return `${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
