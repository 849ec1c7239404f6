import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { AppConfig } from 'src/config/config.schema';

type TlsVersion = 'TLSv1.3' | 'TLSv1.2' | 'TLSv1.1' | 'TLSv1';
const ORDER: TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

// IANA (Java) cipher names from the guide mapped to OpenSSL's; TLS 1.3 suites have the same name in both.
const IANA_TO_OPENSSL: Record<string, string> = {
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
};

export type HttpsOptions = SecureContextOptions & {
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  ciphers?: string;
};

/** Node TLS options from `server.ssl.*` (PKCS12 key store, or PEM certificate and key), or undefined when off. */
export function tlsOptionsFrom(config: AppConfig, configDir: string): HttpsOptions | undefined {
  const ssl = config.server.ssl;
  if (!ssl.enabled) return undefined;
  const resolve = (p: string) => path.resolve(configDir, p.replace(/^(classpath|file):/, ''));
  const options: HttpsOptions = {};
  const read = (key: string, file: string) => {
    try {
      return readFileSync(resolve(file));
    } catch (error) {
      throw new Error(`${key}: cannot read ${resolve(file)} (${(error as Error).message})`, { cause: error });
    }
  };
  // Which setting to name when the key material cannot be opened (wrong password, not a key store, no key).
  let secret: string;
  if (ssl.keyStore && ssl.keyStoreType.toUpperCase() !== 'PEM') {
    options.pfx = read('server.ssl.key-store', ssl.keyStore);
    options.passphrase = ssl.keyStorePassword ?? '';
    secret = 'server.ssl.key-store-password (or server.ssl.key-store)';
  } else if (ssl.certificate && ssl.certificatePrivateKey) {
    options.cert = read('server.ssl.certificate', ssl.certificate);
    options.key = read('server.ssl.certificate-private-key', ssl.certificatePrivateKey);
    if (ssl.keyPassword) options.passphrase = ssl.keyPassword;
    secret = 'server.ssl.key-password (or server.ssl.certificate / certificate-private-key)';
  } else {
    throw new Error(
      'server.ssl.enabled is true but neither server.ssl.key-store nor server.ssl.certificate + certificate-private-key is set',
    );
  }
  const versions = ssl.enabledProtocols
    .filter((p): p is TlsVersion => (ORDER as string[]).includes(p))
    .sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  if (versions.length > 0) {
    options.minVersion = versions[0];
    options.maxVersion = versions[versions.length - 1];
  }
  if (ssl.ciphers.length > 0) options.ciphers = ssl.ciphers.map((c) => IANA_TO_OPENSSL[c] ?? c).join(':');
  // Fail here, naming the setting, rather than deep inside the listener with OpenSSL's "mac verify failure".
  const { minVersion, maxVersion, ciphers, ...material } = options;
  try {
    createSecureContext(material);
  } catch (error) {
    throw new Error(`server.ssl: cannot open the TLS key material; check ${secret}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    createSecureContext({ minVersion, maxVersion, ciphers });
  } catch (error) {
    throw new Error(`server.ssl.ciphers / enabled-protocols: ${(error as Error).message}`, { cause: error });
  }
  return options;
}
