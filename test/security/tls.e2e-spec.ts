import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const PASSWORD = 'key-store-secret';
const TRUST_PASSWORD = 'trust-store-secret';

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

/** GET over HTTPS trusting only the generated certificate; `client`: a client certificate and key to present. */
function httpsGet(
  url: string,
  ca: Buffer,
  client?: { cert: Buffer; key: Buffer },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, ...client }, (res) => {
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
  let trusted: { cert: Buffer; key: Buffer };
  let rogue: { cert: Buffer; key: Buffer };

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
    // Mutual TLS: a CA, a client certificate it signed, one it did not (self-signed), and the CA as a PKCS12
    // trust store.
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca'); // prettier-ignore
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=client'); // prettier-ignore
    openssl(
      'x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'client.pem', '-days', '2',
    ); // prettier-ignore
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '2', '-subj', '/CN=client'); // prettier-ignore
    openssl('pkcs12', '-export', '-nokeys', '-in', 'ca.pem', '-out', 'truststore.p12', '-passout', `pass:${TRUST_PASSWORD}`); // prettier-ignore
    const load = (name: string) => readFileSync(path.join(dir, name));
    trusted = { cert: load('client.pem'), key: load('client.key') };
    rogue = { cert: load('rogue.pem'), key: load('rogue.key') };
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
  describe('mutual TLS (client-auth)', () => {
    const pemCa = `    trust-certificate: ${'${DIR}'}/ca.pem\n`;
    const p12Trust = `    trust-store: ${'${DIR}'}/truststore.p12\n    trust-store-password: ${TRUST_PASSWORD}\n`;

    it('need: only a client certificate signed by trust-certificate gets an answer', async () => {
      await withGateway(tlsYaml(`${keyStore}    client-auth: need\n${pemCa}`), async (gateway) => {
        const health = await httpsGet(`${gateway.addresses.api}/api/health`, cert, trusted);
        expect([200, 503]).toContain(health.status);
        await expect(httpsGet(`${gateway.addresses.api}/api/health`, cert)).rejects.toThrow();
        await expect(httpsGet(`${gateway.addresses.api}/api/health`, cert, rogue)).rejects.toThrow();
      });
    });

    it('want with a PKCS12 trust store: no certificate or a trusted one pass, an untrusted one is cut off', async () => {
      await withGateway(tlsYaml(`${keyStore}    client-auth: want\n${p12Trust}`), async (gateway) => {
        const url = `${gateway.addresses.api}/api/health`;
        expect([200, 503]).toContain((await httpsGet(url, cert)).status);
        expect([200, 503]).toContain((await httpsGet(url, cert, trusted)).status);
        await expect(httpsGet(url, cert, rogue)).rejects.toThrow();
      });
    });

    it('refuses to start without CAs, or with a wrong trust-store password, naming the key', async () => {
      await expect(
        startTestGateway({ databaseUrl: db.url, yaml: withDir(tlsYaml(`${keyStore}    client-auth: need\n`)) }),
      ).rejects.toThrow(/server\.ssl\.client-auth is need but neither server\.ssl\.trust-certificate/);
      const wrong = `    client-auth: need\n    trust-store: ${'${DIR}'}/truststore.p12\n    trust-store-password: nope\n`;
      await expect(
        startTestGateway({ databaseUrl: db.url, yaml: withDir(tlsYaml(`${keyStore}${wrong}`)) }),
      ).rejects.toThrow(/server\.ssl\.trust-store: openssl could not read it; check server\.ssl\.trust-store-password/);
      const notPem = `    client-auth: need\n    trust-certificate: ${'${DIR}'}/ca.key\n`;
      await expect(
        startTestGateway({ databaseUrl: db.url, yaml: withDir(tlsYaml(`${keyStore}${notPem}`)) }),
      ).rejects.toThrow(/server\.ssl\.trust-certificate: no PEM certificate found/);
    });
  });

  describe('management.server.ssl', () => {
    const managementTls = (extra = '') =>
      `management:\n  server:\n    ssl:\n      enabled: true\n` +
      `      certificate: ${'${DIR}'}/cert.pem\n      certificate-private-key: ${'${DIR}'}/key.pem\n${extra}`;

    it('serves the management and scrape ports over TLS while the API stays on HTTP', async () => {
      await withGateway(managementTls(), async (gateway) => {
        expect(gateway.addresses.api).toMatch(/^http:\/\//);
        expect(gateway.addresses.management).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        expect(gateway.addresses.metrics).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const liveness = await httpsGet(`${gateway.addresses.management}/actuator/health/liveness`, cert);
        expect(liveness.status).toBe(200);
        const scrape = await httpsGet(`${gateway.addresses.metrics}/actuator/prometheus`, cert);
        expect(scrape.status).toBe(200);
        expect(scrape.body).toContain('http_server_requests_seconds');
        expect(await handshake(gateway.addresses.management, only('TLSv1.3'))).toMatchObject({ ok: true });
        expect(
          await handshake(gateway.addresses.metrics!, only('TLSv1.1', { ciphers: 'DEFAULT@SECLEVEL=0' })),
        ).toMatchObject({
          ok: false,
        });
        await expect(
          fetch(`${gateway.addresses.management.replace('https:', 'http:')}/actuator/health`),
        ).rejects.toThrow();
        expect((await fetch(`${gateway.addresses.api}/api/health`)).status).toBeLessThan(500);
      });
    });

    it('client-auth need on the management ports: a scraper without a trusted certificate is refused', async () => {
      const yaml = managementTls(`      client-auth: need\n      trust-certificate: ${'${DIR}'}/ca.pem\n`);
      await withGateway(yaml, async (gateway) => {
        const scrape = await httpsGet(`${gateway.addresses.metrics}/actuator/prometheus`, cert, trusted);
        expect(scrape.status).toBe(200);
        await expect(httpsGet(`${gateway.addresses.metrics}/actuator/prometheus`, cert)).rejects.toThrow();
        await expect(
          httpsGet(`${gateway.addresses.management}/actuator/health/readiness`, cert, rogue),
        ).rejects.toThrow();
      });
    });

    it('refuses to start when management.server.ssl has no key material, naming its keys', async () => {
      await expect(
        startTestGateway({ databaseUrl: db.url, yaml: 'management:\n  server:\n    ssl:\n      enabled: true\n' }),
      ).rejects.toThrow(/management\.server\.ssl\.enabled is true but neither management\.server\.ssl\.key-store/);
    });
  });
});
