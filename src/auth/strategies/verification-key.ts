import type { KeyObject } from 'node:crypto';

/** passport-jwt's key callback, as its types declare it. */
export type KeyCallback = (err: Error | null, key?: string | Buffer) => void;

/**
 * Hands jsonwebtoken a `KeyObject` rather than a string. Given a string or Buffer, jsonwebtoken 9 imports it again on
 * every call, first as a public key: for an HS256 secret that is a failed PEM/DER parse and a thrown exception per
 * request (most of a token's cost in the profile, docs/benchmarks.md), for an RSA key a PEM parse. jsonwebtoken
 * accepts a KeyObject and skips the import; @types/passport-jwt only lists string | Buffer, hence the cast.
 */
export function passKey(done: KeyCallback, key: KeyObject): void {
  done(null, key as unknown as string);
}
