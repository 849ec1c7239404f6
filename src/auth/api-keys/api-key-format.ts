import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'gmcp_';
/** Characters of a key kept for display (`gmcp_` + 8): enough to tell keys apart, useless for guessing. */
const DISPLAY_LENGTH = API_KEY_PREFIX.length + 8;

/** A new key: `gmcp_` + 32 random bytes in base64url (256 bits of entropy). Shown once, never stored. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * What is stored: SHA-256 of the key, hex. A fast hash is right for keys we generate with 256 random bits: no
 * dictionary or brute force can reach them, so a slow, salted hash (bcrypt, argon2) would only add tens of
 * milliseconds to every request and rule out the indexed lookup by hash. Operator-chosen keys
 * (GLOBALMCP_ADMIN_API_KEY) must therefore be long and random too (enforced at start).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The part of a key shown in listings. */
export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_LENGTH);
}
