import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { AppConfig } from './config.schema';

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
  /** Mutual TLS: ask the client for a certificate (`client-auth: want|need`). */
  requestCert?: boolean;
  /** With `requestCert`: refuse the handshake without a trusted certificate (`need`). */
  rejectUnauthorized?: boolean;
};

export type SslConfig = AppConfig['server']['ssl'];

/** Node TLS options from `server.ssl.*` (PKCS12 key store, or PEM certificate and key), or undefined when off. */
export function tlsOptionsFrom(config: AppConfig, configDir: string): HttpsOptions | undefined {
  return tlsOptionsFor(config.server.ssl, configDir, 'server.ssl');
}

/**
 * The same from `management.server.ssl.*`, for the management and Prometheus scrape listeners. Not inherited from
 * `server.ssl` (unlike Spring Boot, which serves the management port with the API's TLS unless told otherwise): the
 * probes and scrapers of existing deployments call those ports over plain HTTP.
 */
export function managementTlsOptionsFrom(config: AppConfig, configDir: string): HttpsOptions | undefined {
  return tlsOptionsFor(config.management.server.ssl, configDir, 'management.server.ssl');
}

/** TLS options of one listener; `prefix` names its keys in errors. Throws naming the key that is wrong. */
export function tlsOptionsFor(ssl: SslConfig, configDir: string, prefix: string): HttpsOptions | undefined {
  if (!ssl.enabled) return undefined;
  const resolve = (p: string) => path.resolve(configDir, p.replace(/^(classpath|file):/, ''));
  const options: HttpsOptions = {};
  const read = (key: string, file: string) => {
    try {
      return readFileSync(resolve(file));
    } catch (error) {
      throw new Error(`${prefix}.${key}: cannot read ${resolve(file)} (${(error as Error).message})`, { cause: error });
    }
  };
  // Which setting to name when the key material cannot be opened (wrong password, not a key store, no key).
  let secret: string;
  if (ssl.keyStore && ssl.keyStoreType.toUpperCase() !== 'PEM') {
    options.pfx = read('key-store', ssl.keyStore);
    options.passphrase = ssl.keyStorePassword ?? '';
    secret = `${prefix}.key-store-password (or ${prefix}.key-store)`;
  } else if (ssl.certificate && ssl.certificatePrivateKey) {
    options.cert = read('certificate', ssl.certificate);
    options.key = read('certificate-private-key', ssl.certificatePrivateKey);
    if (ssl.keyPassword) options.passphrase = ssl.keyPassword;
    secret = `${prefix}.key-password (or ${prefix}.certificate / certificate-private-key)`;
  } else {
    throw new Error(
      `${prefix}.enabled is true but neither ${prefix}.key-store nor ${prefix}.certificate + certificate-private-key is set`,
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
    throw new Error(`${prefix}: cannot open the TLS key material; check ${secret}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    createSecureContext({ minVersion, maxVersion, ciphers });
  } catch (error) {
    throw new Error(`${prefix}.ciphers / enabled-protocols: ${(error as Error).message}`, { cause: error });
  }
  if (ssl.clientAuth !== 'none') {
    options.ca = trustedCas(ssl, prefix, read, resolve);
    options.requestCert = true;
    // `want`: a client without a certificate gets through; one with an untrusted certificate is cut off by
    // refuseUntrustedClientCertificates (Node has no "verify if sent" mode of its own).
    options.rejectUnauthorized = ssl.clientAuth === 'need';
  }
  return options;
}

/** The CA certificates (PEM) that sign accepted client certificates: trust-certificate, or the trust store. */
function trustedCas(
  ssl: SslConfig,
  prefix: string,
  read: (key: string, file: string) => Buffer,
  resolve: (p: string) => string,
): string {
  let pem: string;
  let key: string;
  if (ssl.trustCertificate) {
    key = 'trust-certificate';
    pem = read(key, ssl.trustCertificate).toString('utf8');
  } else if (ssl.trustStore) {
    key = 'trust-store';
    const content = read(key, ssl.trustStore);
    const type =
      ssl.trustStoreType?.toUpperCase() ?? (content.subarray(0, 64).includes('-----BEGIN') ? 'PEM' : 'PKCS12');
    pem = type === 'PEM' ? content.toString('utf8') : certificatesOfPkcs12(resolve(ssl.trustStore), ssl, prefix);
  } else {
    throw new Error(
      `${prefix}.client-auth is ${ssl.clientAuth} but neither ${prefix}.trust-certificate nor ${prefix}.trust-store names the CAs of accepted client certificates`,
    );
  }
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  for (const certificate of certificates) {
    try {
      new X509Certificate(certificate);
    } catch (error) {
      throw new Error(`${prefix}.${key}: not a valid certificate (${(error as Error).message})`, { cause: error });
    }
  }
  if (certificates.length === 0) throw new Error(`${prefix}.${key}: no PEM certificate found`);
  return certificates.join('\n');
}

/**
 * The certificates of a PKCS12 trust store, through the `openssl` command: Node reads PKCS12 only as a key store
 * (a certificate-only file fails with "Unable to load private key from PFX data"). The password goes through the
 * environment, never the command line (visible in `ps`).
 */
function certificatesOfPkcs12(file: string, ssl: SslConfig, prefix: string): string {
  try {
    return execFileSync(
      'openssl',
      ['pkcs12', '-in', file, '-nokeys', '-passin', 'env:GLOBALMCP_TRUST_STORE_PASSWORD'],
      {
        env: { PATH: process.env.PATH, GLOBALMCP_TRUST_STORE_PASSWORD: ssl.trustStorePassword ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
  } catch (error) {
    const detail =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'the openssl command is not installed; give the CAs as PEM in trust-certificate instead'
        : `openssl could not read it; check ${prefix}.trust-store-password (${
            String((error as { stderr?: string }).stderr ?? (error as Error).message)
              .trim()
              .split('\n')[0]
          })`;
    throw new Error(`${prefix}.trust-store: ${detail}`, { cause: error });
  }
}

/**
 * `client-auth: want` on a TLS listener: a client that sent a certificate the trust store does not vouch for is
 * disconnected right after the handshake, before any request is read (Spring/Tomcat's "optional" verification).
 */
export function refuseUntrustedClientCertificates(server: EventEmitter, ssl: SslConfig): void {
  if (!ssl.enabled || ssl.clientAuth !== 'want') return;
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.authorized) return;
    const presented = socket.getPeerCertificate();
    if (presented && Object.keys(presented).length > 0) socket.destroy();
  });
}
