import type { ApiKeyEntity } from './api-key.entity';
import { hashApiKey } from './api-key-format';
import type { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';

const KEY = 'gmcp_test-key-0123456789abcdef';
const row = {
  id: 'k1',
  name: 'ci',
  scopes: ['mcp:read'],
  serverIds: null,
  tier: null,
  revokedAt: null,
  expiresAt: null,
};

describe('ApiKeysService.authenticate while the database is away', () => {
  let now = 1_000_000;
  let down = false;
  const repository = {
    findByHash: jest.fn(async (hash: string) => {
      if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return hash === hashApiKey(KEY) ? (row as unknown as ApiKeyEntity) : null;
    }),
    touchLastUsed: jest.fn(async () => undefined),
  };
  const service = new ApiKeysService({} as never, repository as unknown as ApiKeysRepository);
  beforeAll(() => jest.spyOn(Date, 'now').mockImplementation(() => now));
  afterAll(() => jest.restoreAllMocks());

  it('keeps honouring a key verified before the outage, past its 5 s cache, and refuses an unknown key with 503', async () => {
    expect((await service.authenticate(KEY)).id).toBe('key:k1');
    down = true;
    now += 60_000;
    expect((await service.authenticate(KEY)).scopes).toEqual(new Set(['mcp:read']));
    await expect(service.authenticate('gmcp_never-seen-before')).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
  });

  it('stops honouring it once the outage outlasts 15 minutes, and asks the database again when it is back', async () => {
    now += 16 * 60_000;
    await expect(service.authenticate(KEY)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
    down = false;
    const calls = repository.findByHash.mock.calls.length;
    expect((await service.authenticate(KEY)).id).toBe('key:k1');
    expect(repository.findByHash.mock.calls.length).toBe(calls + 1);
  });
});
