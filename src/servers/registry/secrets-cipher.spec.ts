import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretsCipher } from './secrets-cipher';

describe('SecretsCipher', () => {
  const secrets = { environment: { TOKEN: 'clear-text-token' }, headers: { Authorization: 'Bearer abc' } };

  it('round-trips, with a fresh IV on every write and no clear text', () => {
    const cipher = SecretsCipher.fromKey(randomBytes(32));
    const one = cipher.seal(secrets, 'srv');
    const two = cipher.seal(secrets, 'srv');
    expect(one.equals(two)).toBe(false);
    expect(one.includes(Buffer.from('clear-text-token'))).toBe(false);
    expect(cipher.open(one, 'srv')).toEqual(secrets);
  });

  it('does not open with another key, another server id or a flipped byte', () => {
    const cipher = SecretsCipher.fromKey(randomBytes(32));
    const sealed = cipher.seal(secrets, 'srv');
    expect(() => SecretsCipher.fromKey(randomBytes(32)).open(sealed, 'srv')).toThrow();
    expect(() => cipher.open(sealed, 'other')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => cipher.open(tampered, 'srv')).toThrow();
  });

  it('takes a configured base64 key of 32 bytes and refuses other lengths', () => {
    expect(() => SecretsCipher.load(randomBytes(16).toString('base64'), '/nonexistent')).toThrow(/32 bytes/);
    expect(SecretsCipher.load(randomBytes(32).toString('base64'), '/nonexistent').generatedAt).toBeUndefined();
  });

  it('generates a key once under the data dir with mode 0600 and reuses it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cipher-'));
    try {
      const first = SecretsCipher.load(undefined, path.join(dir, 'data'));
      const file = path.join(dir, 'data', 'encryption.key');
      expect(first.generatedAt).toBe(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
      const second = SecretsCipher.load(undefined, path.join(dir, 'data'));
      expect(second.generatedAt).toBeUndefined();
      expect(second.cipher.open(first.cipher.seal(secrets, 'x'), 'x')).toEqual(secrets);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
