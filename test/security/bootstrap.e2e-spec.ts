import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway } from '../support/test-gateway';
import { MAIN, requireBuild } from '../support/paths';

const ROOT = path.resolve(__dirname, '..', '..');
const BANNER_KEY = /X-API-Key: (gmcp_[A-Za-z0-9_-]{43})/;

/** Runs `work` while capturing what is written straight to stdout (the one-time banner). */
async function capturingStdout<T>(work: () => Promise<T>): Promise<{ result: T; stdout: string }> {
  let stdout = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    return { result: await work(), stdout };
  } finally {
    spy.mockRestore();
  }
}

const servers = (api: string, key: string) => fetch(`${api}/api/servers`, { headers: { 'x-api-key': key } });

describe('the first admin credential and startup checks', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('security_bootstrap');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('generates an admin key on first start, prints it once on stdout, and keeps it across restarts', async () => {
    const first = await capturingStdout(() =>
      startTestGateway({ databaseUrl: db.url, env: { GLOBALMCP_ADMIN_API_KEY: undefined } }),
    );
    const key = BANNER_KEY.exec(first.stdout)?.[1];
    expect(key).toBeDefined();
    try {
      expect((await servers(first.result.addresses.api, key!)).status).toBe(200);
    } finally {
      await first.result.stop();
    }
    const second = await capturingStdout(() =>
      startTestGateway({ databaseUrl: db.url, env: { GLOBALMCP_ADMIN_API_KEY: undefined } }),
    );
    try {
      expect(second.stdout).not.toMatch(BANNER_KEY);
      expect((await servers(second.result.addresses.api, key!)).status).toBe(200);
    } finally {
      await second.result.stop();
    }
  }, 60_000);

  it('stores GLOBALMCP_ADMIN_API_KEY once, and a new value revokes the previous one (rotation)', async () => {
    const old = 'rotation-test-admin-key-0000000000000000000000';
    const fresh = 'rotation-test-admin-key-1111111111111111111111';
    for (let start = 0; start < 2; start++) {
      const gateway = await startTestGateway({ databaseUrl: db.url, env: { GLOBALMCP_ADMIN_API_KEY: old } });
      try {
        expect((await servers(gateway.addresses.api, old)).status).toBe(200);
        const keys = (await (
          await fetch(`${gateway.addresses.api}/api/api-keys`, { headers: gateway.authHeaders })
        ).json()) as {
          api_keys: Array<{ name: string; revoked_at: string | null }>;
        };
        expect(keys.api_keys.filter((k) => k.name === 'admin (GLOBALMCP_ADMIN_API_KEY)')).toHaveLength(1);
      } finally {
        await gateway.stop();
      }
    }
    const rotated = await startTestGateway({ databaseUrl: db.url, env: { GLOBALMCP_ADMIN_API_KEY: fresh } });
    try {
      expect((await servers(rotated.addresses.api, fresh)).status).toBe(200);
      expect((await servers(rotated.addresses.api, old)).status).toBe(401);
    } finally {
      await rotated.stop();
    }
  }, 60_000);

  it('refuses to start with a short JWT secret or admin key (exit 1, named), except with the development profile', async () => {
    // The refused starts run the built gateway in a child: a start that fails halfway ends its process.
    requireBuild();
    const dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-refused-'));
    const config = path.join(dir, 'application.yml');
    writeFileSync(
      config,
      `server:\n  port: 0\n  address: 127.0.0.1\nmanagement:\n  server:\n    port: 0\n  prometheus:\n    port: 0\n` +
        `mcp:\n  data-dir: ${dir}/data\n`,
    );
    const start = (env: Record<string, string>) =>
      spawnSync(process.execPath, [MAIN, '--config', config], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
    try {
      const secret = start({ JWT_SECRET: 'too-short', GLOBALMCP_ADMIN_API_KEY: 'a'.repeat(40) });
      expect({ code: secret.status, out: `${secret.stdout}${secret.stderr}` }).toEqual({
        code: 1,
        out: expect.stringMatching(/mcp\.security\.jwt\.secret \(JWT_SECRET\) is 9 bytes: HS256 needs at least 32/),
      });
      const key = start({ GLOBALMCP_ADMIN_API_KEY: 'short-admin-key' });
      expect({ code: key.status, out: `${key.stdout}${key.stderr}` }).toEqual({
        code: 1,
        out: expect.stringMatching(/GLOBALMCP_ADMIN_API_KEY\) is 15 characters: use at least 32/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const development = await startTestGateway({
      databaseUrl: db.url,
      yaml: 'mcp:\n  security:\n    jwt:\n      secret: too-short\n',
      env: { GLOBALMCP_PROFILES: 'development', GLOBALMCP_ADMIN_API_KEY: 'short-admin-key' },
    });
    await development.stop();
  }, 90_000);
});
