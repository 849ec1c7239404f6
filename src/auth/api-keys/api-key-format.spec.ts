import { createHash } from 'node:crypto';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key-format';

describe('API key format', () => {
  it('generates distinct gmcp_ keys with 32 random bytes', () => {
    const keys = new Set(Array.from({ length: 100 }, generateApiKey));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^gmcp_[A-Za-z0-9_-]{43}$/);
  });

  it('stores the SHA-256 hex of the key and shows only its first characters', () => {
    const key = generateApiKey();
    expect(hashApiKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(displayPrefix(key)).toBe(key.slice(0, 13));
  });
});
