import { randomBytes } from 'node:crypto';
import type { HttpAdapterHost } from '@nestjs/core';
import type { CredentialVerifier } from 'src/auth/credential-verifier';
import { authenticationFailed } from 'src/auth/auth-errors';
import { type AppException } from 'src/common/errors/app.exception';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';
import { OAuthUserClient } from 'src/mcp/credentials/oauth-user-client';
import type { CredentialEvent } from 'src/mcp/credentials/upstream-credentials';
import { EngineError, EngineErrorCode } from 'src/mcp/engine-error';
import type { McpEngine } from 'src/mcp/mcp-engine';
import { SecretsCipher } from 'src/servers/registry/secrets-cipher';
import type { ServersService } from 'src/servers/servers.service';
import type { ConnectionsRepository, LockedOutcome } from './connections.repository';
import { ConnectionsService, tokensAad } from './connections.service';
import { OAuthClients } from './oauth-clients';
import type { UpstreamConnectionEntity } from './entities/upstream-connection.entity';

const KEY = randomBytes(32).toString('base64');
const ENTRY = {
  type: 'http',
  url: 'https://up.example/mcp',
  name: 'Upstream',
  auth: { mode: 'oauth-user', redirectUri: 'https://gw.example/api/connections/callback', clientId: 'gw' },
} as unknown as ServerEntry;
const SERVER = { issuer: 'https://as.example', resource: 'https://up.example/mcp', metadata: {}, algorithm: 'oidc' };

describe('ConnectionsService', () => {
  const cipher = SecretsCipher.fromKey(Buffer.from(KEY, 'base64'));
  let events: CredentialEvent[];
  let repository: jest.Mocked<ConnectionsRepository>;
  let service: ConnectionsService;
  let verifyHeaders: jest.Mock;
  let writes: { update?: Partial<UpstreamConnectionEntity>; deleted?: boolean };

  const row = (expiresInMs: number, refresh = 'rt-1'): UpstreamConnectionEntity => ({
    principalId: 'key:alice',
    serverId: 'up',
    issuer: SERVER.issuer,
    clientId: 'gw',
    scope: 'read',
    tokens: cipher.sealText(
      JSON.stringify({ access_token: 'at-1', refresh_token: refresh }),
      tokensAad('up', 'key:alice', ENTRY),
    ),
    expiresAt: new Date(Date.now() + expiresInMs),
    createdAt: new Date(Date.now() - 60_000),
    refreshedAt: null,
  });

  beforeEach(() => {
    events = [];
    writes = {};
    repository = {
      findConnection: jest.fn(),
      withLockedConnection: jest.fn(),
      consumeAuthorization: jest.fn(),
      saveConnection: jest.fn(),
      deleteConnection: jest.fn(),
    } as unknown as jest.Mocked<ConnectionsRepository>;
    const config = {
      mcp: { security: { encryptionKey: KEY }, dataDir: '/nonexistent' },
      server: { ssl: { enabled: false } },
    } as unknown as AppConfig;
    const servers = { find: () => ({ entry: ENTRY }) } as unknown as ServersService;
    const engine = {
      emit: (_: string, event: CredentialEvent) => events.push(event),
      on: jest.fn(),
    } as unknown as McpEngine;
    const oauth = new OAuthUserClient();
    const clients = new OAuthClients(config, repository, servers, oauth, {} as HttpAdapterHost);
    verifyHeaders = jest.fn();
    const verifier = { verifyHeaders } as unknown as CredentialVerifier;
    service = new ConnectionsService(config, repository, servers, engine, clients, oauth, verifier);
    jest.spyOn(OAuthUserClient.prototype, 'discover').mockResolvedValue(SERVER as never);
  });
  afterEach(() => jest.restoreAllMocks());

  const lockWith = (current: UpstreamConnectionEntity | null) =>
    repository.withLockedConnection.mockImplementation(async (_p, _s, work) => {
      const outcome = (await work(current)) as LockedOutcome<unknown>;
      if ('error' in outcome) {
        writes.deleted = outcome.delete;
        throw outcome.error;
      }
      writes.update = outcome.update;
      return outcome.result as never;
    });

  it('asks a caller without a connection to authorise, with a link of its own and nothing written', async () => {
    repository.findConnection.mockResolvedValue(null);
    const error = (await service.credentialFor('up', { id: 'key:alice' }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe(EngineErrorCode.USER_AUTHORIZATION_REQUIRED);
    expect(error.details).toMatchObject({ serverId: 'up', connection: 'not-connected' });
    expect(String(error.details!.authorizationUrl)).toMatch(/^https:\/\/gw\.example\/api\/connections\/start\?link=/);
    expect(error.message).toContain(String(error.details!.authorizationUrl));
    expect(repository.saveConnection).not.toHaveBeenCalled();
  });

  it("sends a fresh token as the caller's own partition, audited as used (never the token)", async () => {
    repository.findConnection.mockResolvedValue(row(600_000));
    const credential = await service.credentialFor('up', { id: 'key:alice' });
    expect(credential).toEqual({ partition: 'key:alice', headers: { authorization: 'Bearer at-1' } });
    expect(repository.withLockedConnection).not.toHaveBeenCalled();
    expect(events).toEqual([expect.objectContaining({ action: 'used', mode: 'oauth-user', principal: 'key:alice' })]);
    expect(JSON.stringify(events)).not.toContain('at-1');
  });

  it('refreshes a token about to expire under the lock, and stores the rotated tokens sealed', async () => {
    const stale = row(500);
    repository.findConnection.mockResolvedValue(stale);
    lockWith(stale);
    jest
      .spyOn(OAuthUserClient.prototype, 'refresh')
      .mockResolvedValue({ accessToken: 'at-2', refreshToken: 'rt-2', expiresAt: Date.now() + 60_000 });
    const credential = await service.credentialFor('up', { id: 'key:alice' });
    expect(credential.headers.authorization).toBe('Bearer at-2');
    expect(writes.update?.refreshedAt).toBeInstanceOf(Date);
    const sealed = writes.update!.tokens!;
    expect(sealed.includes(Buffer.from('rt-2'))).toBe(false);
    expect(JSON.parse(cipher.openText(sealed, tokensAad('up', 'key:alice', ENTRY)))).toEqual({
      access_token: 'at-2',
      refresh_token: 'rt-2',
    });
    expect(events.map((e) => e.action)).toEqual(['refreshed', 'used']);
  });

  it('forgets a connection whose refresh the authorization server refuses, and asks the user again', async () => {
    const stale = row(500);
    repository.findConnection.mockResolvedValue(stale);
    lockWith(stale);
    jest.spyOn(OAuthUserClient.prototype, 'refresh').mockRejectedValue(
      EngineError.unavailable('up', 'refused', {
        reason: 'authorization-server-refused',
        oauthError: 'invalid_grant',
      }),
    );
    const error = (await service.credentialFor('up', { id: 'key:alice' }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe(EngineErrorCode.USER_AUTHORIZATION_REQUIRED);
    expect(error.details).toMatchObject({ connection: 'refresh-refused' });
    expect(writes.deleted).toBe(true);
    expect(events).toEqual([expect.objectContaining({ action: 'failed', reason: 'invalid_grant' })]);
  });

  it('keeps serving a still-valid token when the authorization server cannot be reached for a refresh', async () => {
    const stale = row(2_000);
    repository.findConnection.mockResolvedValue(stale);
    lockWith(stale);
    jest
      .spyOn(OAuthUserClient.prototype, 'refresh')
      .mockRejectedValue(EngineError.unavailable('up', 'down', { reason: 'authorization-server-unreachable' }));
    const credential = await service.credentialFor('up', { id: 'key:alice' });
    expect(credential.headers.authorization).toBe('Bearer at-1');
    expect(writes.deleted).toBeUndefined();
    expect(events.map((e) => e.action)).toEqual(['failed', 'stale-after-failed-refresh', 'used']);
  });

  it('refuses a redirect whose state is unknown, used, or from another browser, storing nothing', async () => {
    repository.consumeAuthorization.mockResolvedValueOnce({ ok: false, why: 'unknown' });
    const unknown = (await service.complete({ state: 's', code: 'c' }, 'b').catch((e: unknown) => e)) as AppException;
    expect(unknown.details).toEqual({ reason: 'state-unknown' });
    repository.consumeAuthorization.mockResolvedValueOnce({ ok: false, why: 'used' });
    const used = (await service.complete({ state: 's', code: 'c' }, 'b').catch((e: unknown) => e)) as AppException;
    expect(used.message).toMatch(/already completed/);
    repository.consumeAuthorization.mockResolvedValueOnce({
      ok: true,
      row: { browserHash: 'f'.repeat(64), serverId: 'up', principalId: 'key:alice' } as never,
    });
    const other = (await service.complete({ state: 's', code: 'c' }, 'b').catch((e: unknown) => e)) as AppException;
    expect(other.details).toEqual({ reason: 'state-other-browser' });
    expect(repository.saveConnection).not.toHaveBeenCalled();
  });

  it("admits the confirmation of a link only with its own principal's credential (API key or bearer token)", async () => {
    const token = new URL(service.linkFor('up', { id: 'key:alice' }).url).searchParams.get('link')!;
    const reason = (promise: Promise<void>) =>
      promise.then(
        () => 'admitted',
        (e: AppException) => `${e.status} ${(e.details as { reason?: string } | null)?.reason ?? e.message}`,
      );
    verifyHeaders.mockResolvedValueOnce({ id: 'key:alice' });
    expect(await reason(service.proveHolder(token, ' gmcp_alice '))).toBe('admitted');
    expect(verifyHeaders).toHaveBeenLastCalledWith({ 'x-api-key': 'gmcp_alice' });
    verifyHeaders.mockResolvedValueOnce({ id: 'key:alice' });
    expect(await reason(service.proveHolder(token, 'aaa.bbb.ccc'))).toBe('admitted');
    expect(verifyHeaders).toHaveBeenLastCalledWith({ authorization: 'Bearer aaa.bbb.ccc' });
    verifyHeaders.mockResolvedValueOnce({ id: 'key:bob' });
    expect(await reason(service.proveHolder(token, 'gmcp_bob'))).toBe('403 other-principal');
    verifyHeaders.mockRejectedValueOnce(authenticationFailed('Invalid API key', 'unknown key'));
    expect(await reason(service.proveHolder(token, 'gmcp_wrong'))).toBe('403 credential-refused');
    expect(await reason(service.proveHolder(token, ''))).toBe('403 credential-refused');
    expect(await reason(service.proveHolder('not-a-link', 'gmcp_alice'))).toBe('400 invalid-link');
  });

  it('never sends tokens sealed under other settings of the server (replaced elsewhere): forgets them, asks again', async () => {
    const elsewhere = { ...ENTRY, url: 'https://other.example/mcp' } as ServerEntry;
    const foreign = row(600_000);
    foreign.tokens = cipher.sealText(
      JSON.stringify({ access_token: 'at-1', refresh_token: 'rt-1' }),
      tokensAad('up', 'key:alice', elsewhere),
    );
    repository.findConnection.mockResolvedValue(foreign);
    repository.deleteConnection.mockResolvedValue(foreign);
    const error = (await service.credentialFor('up', { id: 'key:alice' }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe(EngineErrorCode.USER_AUTHORIZATION_REQUIRED);
    expect(error.details).toMatchObject({ connection: 'settings-changed' });
    expect(repository.deleteConnection).toHaveBeenCalledWith('key:alice', 'up');
    expect(events).toEqual([]);
  });

  it('refuses an anonymous caller (callers of an unauthenticated route share it) without looking for tokens', async () => {
    const error = (await service.credentialFor('up', { id: 'anonymous' }).catch((e: unknown) => e)) as EngineError;
    expect(error.code).toBe(EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED);
    expect(repository.findConnection).not.toHaveBeenCalled();
  });

  it('answers 404 when revoking a connection the caller does not have', async () => {
    repository.deleteConnection.mockResolvedValue(null);
    const error = (await service.revoke('key:alice', 'up').catch((e: unknown) => e)) as AppException;
    expect(error.status).toBe(404);
    expect(events).toEqual([]);
  });
});
