import { serverEntrySchema } from 'src/config/config.schema';
import { EngineErrorCode } from '../engine-error';
import type { TokenClient } from './token-client';
import { type CredentialEvent, UpstreamCredentials } from './upstream-credentials';

const entry = (auth: Record<string, unknown>) =>
  serverEntrySchema.parse({ type: 'http', url: 'https://mcp.example/mcp', auth });
const exchangeEntry = entry({
  mode: 'token-exchange',
  tokenEndpoint: 'https://idp.example/token',
  clientId: 'globalmcp',
  clientSecret: 'secret',
  audience: 'https://mcp.example',
});

describe('UpstreamCredentials', () => {
  const events: CredentialEvent[] = [];
  let exchanged = 0;
  const client = {
    exchange: jest.fn(async (_s: string, _a: unknown, subject: string) => ({
      accessToken: `exchanged-for-${subject}-${++exchanged}`,
      obtainedAt: Date.now(),
      expiresAt: Date.now() + 600_000,
    })),
  } as unknown as TokenClient;
  const credentials = new UpstreamCredentials((e) => events.push(e), { client });

  beforeEach(() => (events.length = 0));

  it('exchanges each principal’s own token once and keys its connection by the principal', async () => {
    const alice = await credentials.forCaller('up', exchangeEntry, { id: 'p:alice', bearerToken: 'alice-in' });
    const bob = await credentials.forCaller('up', exchangeEntry, { id: 'p:bob', bearerToken: 'bob-in' });
    const aliceAgain = await credentials.forCaller('up', exchangeEntry, { id: 'p:alice', bearerToken: 'alice-in' });
    expect(alice).toEqual({ partition: 'p:alice', headers: { authorization: 'Bearer exchanged-for-alice-in-1' } });
    expect(bob).toEqual({ partition: 'p:bob', headers: { authorization: 'Bearer exchanged-for-bob-in-2' } });
    expect(aliceAgain).toEqual(alice);
    expect(events.map((e) => `${e.principal}:${e.action}`)).toEqual([
      'p:alice:obtained',
      'p:alice:used',
      'p:bob:obtained',
      'p:bob:used',
      'p:alice:used',
    ]);
    expect(JSON.stringify(events)).not.toMatch(/exchanged-for|alice-in|bob-in/);
  });

  it('drops a token the upstream refused, so that principal’s next call exchanges again (and nobody else’s)', async () => {
    const carol = await credentials.forCaller('up', exchangeEntry, { id: 'p:carol', bearerToken: 'carol-in' });
    const dan = await credentials.forCaller('up', exchangeEntry, { id: 'p:dan', bearerToken: 'dan-in' });
    credentials.rejected('up', exchangeEntry, 'p:carol');
    expect(events.at(-1)).toMatchObject({ action: 'rejected-by-upstream', principal: 'p:carol' });
    expect(await credentials.forCaller('up', exchangeEntry, { id: 'p:carol', bearerToken: 'carol-in' })).not.toEqual(
      carol,
    );
    expect(await credentials.forCaller('up', exchangeEntry, { id: 'p:dan', bearerToken: 'dan-in' })).toEqual(dan);
  });

  it('refuses a caller without a bearer token (an API key) with UPSTREAM_AUTHORIZATION_REQUIRED', async () => {
    await expect(credentials.forCaller('up', exchangeEntry, { id: 'key:1' })).rejects.toMatchObject({
      code: EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
      message: expect.stringMatching(/bearer token/),
    });
  });

  it('maps claims (dotted paths, lists) to headers and refuses a missing or unsafe one', async () => {
    const mesh = entry({ mode: 'claims-to-headers', claims: { 'X-Sub': 'sub', 'X-Roles': 'realm.roles' } });
    const claims = { sub: 'alice', realm: { roles: ['admin', 'dev'] } };
    expect(await credentials.forCaller('mesh', mesh, { id: 'p:alice', claims })).toEqual({
      partition: 'p:alice',
      headers: { 'X-Sub': 'alice', 'X-Roles': 'admin,dev' },
    });
    for (const bad of [
      { sub: 'alice' },
      { sub: 'a\r\nX-Evil: 1', realm: { roles: ['x'] } },
      { sub: 'a', realm: { roles: [{}] } },
    ])
      await expect(credentials.forCaller('mesh', mesh, { id: 'p', claims: bad })).rejects.toMatchObject({
        code: EngineErrorCode.UPSTREAM_AUTHORIZATION_REQUIRED,
      });
  });
});
