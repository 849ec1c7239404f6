import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** The secret parts of a server registered through the API: stored only encrypted (`mcp_servers.secrets`). */
export interface ServerSecrets {
  environment: Record<string, string>;
  headers: Record<string, string>;
  /** The client secret of the upstream credential (`configuration.auth`), when it has one. */
  authClientSecret?: string;
}

/**
 * AES-256-GCM for secrets at rest. Layout of a sealed value: version (1 byte) | IV (12 random bytes, new on every
 * write) | tag (16) | ciphertext. The server id is the additional authenticated data, so a sealed value copied onto
 * another row does not open.
 */
export class SecretsCipher {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): SecretsCipher {
    if (key.length !== KEY_BYTES) throw new Error(`the encryption key must be ${KEY_BYTES} bytes, got ${key.length}`);
    return new SecretsCipher(key);
  }

  /**
   * The key of `mcp.security.encryption-key` (GLOBALMCP_ENCRYPTION_KEY, base64 of 32 bytes), else the one kept
   * under `<dataDir>/encryption.key` (mode 0600), generated on first use.
   */
  static load(configured: string | undefined, dataDir: string): { cipher: SecretsCipher; generatedAt?: string } {
    if (configured) {
      const key = Buffer.from(configured.trim(), 'base64');
      if (key.length !== KEY_BYTES)
        throw new Error(
          `mcp.security.encryption-key (GLOBALMCP_ENCRYPTION_KEY) must be base64 of ${KEY_BYTES} bytes, got ${key.length} bytes`,
        );
      return { cipher: new SecretsCipher(key) };
    }
    const file = path.resolve(dataDir, 'encryption.key');
    try {
      return { cipher: SecretsCipher.fromKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    const key = randomBytes(KEY_BYTES);
    try {
      writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process on the same data dir wrote it first: use that one.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { cipher: SecretsCipher.fromKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')) };
    }
    chmodSync(file, 0o600);
    return { cipher: new SecretsCipher(key), generatedAt: file };
  }

  /**
   * A key for another purpose derived from this one (HKDF-SHA256, `purpose` as info): every replica shares the key of
   * secrets at rest (they open the same rows), so they share what is derived from it, and the key itself never
   * leaves this class.
   */
  derive(purpose: string, bytes = KEY_BYTES): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `globalmcp:${purpose}`, bytes));
  }

  seal(secrets: ServerSecrets, aad: string): Buffer {
    return this.sealText(JSON.stringify(secrets), aad);
  }

  open(sealed: Buffer, aad: string): ServerSecrets {
    const parsed = JSON.parse(this.openText(sealed, aad)) as Partial<ServerSecrets>;
    return {
      environment: parsed.environment ?? {},
      headers: parsed.headers ?? {},
      ...(parsed.authClientSecret !== undefined ? { authClientSecret: parsed.authClientSecret } : {}),
    };
  }

  /** Seals any text (a webhook's signing secret, ...) bound to `aad`, in the layout above. */
  sealText(text: string, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  openText(sealed: Buffer, aad: string): string {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION)
      throw new Error('sealed secrets have an unknown layout');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  }
}
