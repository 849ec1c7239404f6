import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const PASSWORD = 'key-store-secret';

type Handshake = { ok: true; protocol: string | null; cipher: string } | { ok: false; error: string };

/** One TLS handshake with the gateway's API listener, as a client limited by `options`. */
function handshake(url: string, options: ConnectionOptions): Promise<Handshake> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false, ...options }, () => {
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.end();
    });
    socket.on('error', (error) => resolve({ ok: false, error: error.message }));
  });
}

const only = (version: SecureVersion, extra: ConnectionOptions = {}): ConnectionOptions => ({
  minVersion: version,
  maxVersion: version,
  ...extra,
});

/** GET over HTTPS trusting only the generated certificate. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('transport security (server.ssl.*)', () => {
  let db: TestDatabase;
  let dir: string;
  let cert: Buffer;

  const tlsYaml = (lines: string) => `server:\n  ssl:\n    enabled: true\n${lines}`;
  const keyStore = `    key-store: ${'${DIR}'}/keystore.p12\n    key-store-password: ${PASSWORD}\n`;
  const withDir = (yaml: string) => yaml.replace(/\$\{DIR\}/g, dir);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl(
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ); // prettier-ignore
    openssl(
      'pkcs12', '-export', '-in', 'cert.pem', '-inkey', 'key.pem', '-name', 'globalmcp',
      '-out', 'keystore.p12', '-passout', `pass:${PASSWORD}`,
    ); // prettier-ignore
    cert = readFileSync(path.join(dir, 'cert.pem'));
    db = await createTestDatabase('security_tls');
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const withGateway = async (yaml: string, body: (gateway: TestGateway) => Promise<void>) => {
    const gateway = await startTestGateway({ databaseUrl: db.url, yaml: withDir(yaml) });
    try {
      await body(gateway);
    } finally {
      await gateway.stop();
    }
  };

  it('serves the API over HTTPS from a PKCS12 key store, TLS 1.3 and 1.2 by default, never TLS 1.1', async () => {
    await withGateway(tlsYaml(keyStore), async (gateway) => {
      const api = gateway.addresses.api;
      expect(api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const health = await httpsGet(`${api}/api/health`, cert);
      expect([200, 503]).toContain(health.status);
      expect(await handshake(api, only('TLSv1.3'))).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
      expect(await handshake(api, only('TLSv1.2'))).toMatchObject({ ok: true, protocol: 'TLSv1.2' });
      expect(await handshake(api, only('TLSv1.1', { ciphers: 'DEFAULT@SECLEVEL=0' }))).toMatchObject({ ok: false });
    });
  });

  it('honours enabled-protocols: [TLSv1.3] (a TLS 1.2-only or 1.1-only client is refused)', async () => {
    await withGateway(tlsYaml(`${keyStore}    enabled-protocols: [TLSv1.3]\n`), async (gateway) => {
      const api = gateway.addresses.api;
      expect(await handshake(api, only('TLSv1.3'))).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
      expect(await handshake(api, only('TLSv1.2'))).toMatchObject({ ok: false });
      expect(await handshake(api, only('TLSv1.1', { ciphers: 'DEFAULT@SECLEVEL=0' }))).toMatchObject({ ok: false });
      // Unencrypted HTTP on the TLS port gets nothing useful.
      await expect(fetch(api.replace('https:', 'http:') + '/api/health')).rejects.toThrow();
    });
  });

  it('serves PEM files and honours ciphers (IANA names) with TLSv1.2 only', async () => {
    const pem =
      `    certificate: ${'${DIR}'}/cert.pem\n    certificate-private-key: ${'${DIR}'}/key.pem\n` +
      '    enabled-protocols: [TLSv1.2]\n    ciphers: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n';
    await withGateway(tlsYaml(pem), async (gateway) => {
      const api = gateway.addresses.api;
      const health = await httpsGet(`${api}/api/health`, cert);
      expect([200, 503]).toContain(health.status);
      expect(await handshake(api, only('TLSv1.2'))).toEqual({
        ok: true,
        protocol: 'TLSv1.2',
        cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      });
      expect(await handshake(api, only('TLSv1.2', { ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }))).toMatchObject({
        ok: false,
      });
      expect(await handshake(api, only('TLSv1.2', { ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' }))).toMatchObject({
        ok: false,
      });
      expect(await handshake(api, only('TLSv1.3'))).toMatchObject({ ok: false });
    });
  });

  it('refuses to start with a wrong key-store password, naming server.ssl.key-store-password', async () => {
    const wrong = tlsYaml(`    key-store: ${'${DIR}'}/keystore.p12\n    key-store-password: not-the-password\n`);
    await expect(startTestGateway({ databaseUrl: db.url, yaml: withDir(wrong) })).rejects.toThrow(
      /server\.ssl\.key-store-password/,
    );
  });

  it('refuses to start when the key store file is missing, naming server.ssl.key-store', async () => {
    const missing = tlsYaml(`    key-store: ${'${DIR}'}/nope.p12\n    key-store-password: ${PASSWORD}\n`);
    await expect(startTestGateway({ databaseUrl: db.url, yaml: withDir(missing) })).rejects.toThrow(
      /server\.ssl\.key-store: cannot read/,
    );
  });
});
