import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { OPS, requireTool, run } from './ops-tools';

/** ops/scripts: shellcheck, conventions, usage text, and the scripts that need no database run for real. */

const SCRIPTS = path.join(OPS, 'scripts');
const executables = readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh') && f !== 'globalmcp-ops-lib.sh');

describe('ops/scripts', () => {
  it('has every script the guide describes', () => {
    expect(executables.sort()).toEqual(
      [
        'backup-config.sh',
        'backup-postgres.sh',
        'daily-maintenance.sh',
        'dr-test.sh',
        'k8s-rolling-update.sh',
        'restore-postgres.sh',
        'update-application.sh',
        'weekly-maintenance.sh',
      ].sort(),
    );
  });

  it('passes shellcheck', () => {
    const shellcheck = requireTool('shellcheck', 'shellcheck');
    if (!shellcheck) return;
    const r = run(shellcheck, ['-x', '--severity=style', ...readdirSync(SCRIPTS).filter((f) => f.endsWith('.sh'))], {
      cwd: SCRIPTS,
    });
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(executables)('%s: bash shebang, strict mode, executable, no hard-coded sudo', (file) => {
    const text = readFileSync(path.join(SCRIPTS, file), 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text).not.toMatch(/^\s*sudo\b|[;&|]\s*sudo\b|\$\(sudo\b/m);
    expect(text).not.toMatch(/java|\.jar\b|jstack|jmap/);
    expect(run('bash', ['-n', path.join(SCRIPTS, file)]).status).toBe(0);
    expect(execFileSync('stat', ['-c', '%a', path.join(SCRIPTS, file)], { encoding: 'utf8' }).trim()).toMatch(
      /^7[57][57]$/,
    );
  });

  it.each(executables)('%s -h prints usage and exits 0', (file) => {
    const r = run(path.join(SCRIPTS, file), ['-h'], { timeoutMs: 10_000 });
    expect(r.stdout).toMatch(/^Usage: /);
    expect(r.status).toBe(0);
  });

  it.each(['restore-postgres.sh', 'update-application.sh', 'k8s-rolling-update.sh', 'dr-test.sh'])(
    '%s without its required argument prints usage and fails',
    (file) => {
      const r = run(path.join(SCRIPTS, file), [], { timeoutMs: 10_000, env: { PATH: process.env.PATH } });
      expect(r.stderr).toMatch(/Usage: /);
      expect(r.status).not.toBe(0);
    },
  );

  it('read DATABASE_URL and SPRING_DATASOURCE_URL the way the gateway does', () => {
    const show = (env: Record<string, string>) =>
      run(
        'bash',
        [
          '-c',
          `. "${SCRIPTS}/globalmcp-ops-lib.sh"; gm_db_settings; echo "$DB_HOST|$DB_PORT|$DB_NAME|$DB_USER|\${PGPASSWORD:-}"`,
        ],
        { env: { PATH: process.env.PATH, ...env } },
      ).stdout.trim();
    expect(show({ DATABASE_URL: 'postgres://gm:p%40ss%3Aword@db.internal:6543/gmdb?sslmode=require' })).toBe(
      'db.internal|6543|gmdb|gm|p@ss:word',
    );
    expect(
      show({
        SPRING_DATASOURCE_URL: 'jdbc:postgresql://pg:5432/globalmcp',
        SPRING_DATASOURCE_USERNAME: 'svc',
        SPRING_DATASOURCE_PASSWORD: 'secret',
      }),
    ).toBe('pg|5432|globalmcp|svc|secret');
    expect(show({ DATABASE_URL: 'postgres://a:b@h/x', DB_HOST: 'override', DB_NAME: 'n' })).toBe('override|5432|n|a|b');
    expect(show({})).toBe('localhost|5432|globalmcp|globalmcp|');
  });

  it('backup-config.sh archives CONFIG_DIR into BACKUP_DIR and keeps the newest KEEP archives', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-cfgbak-'));
    try {
      const config = path.join(tmp, 'etc', 'globalmcp');
      mkdirSync(config, { recursive: true });
      writeFileSync(path.join(config, 'application.yml'), 'server:\n  port: 8080\n');
      const backups = path.join(tmp, 'backup');
      mkdirSync(backups);
      for (let i = 0; i < 3; i++) {
        const old = path.join(backups, `globalmcp-config_2020010${i}_000000.tar.gz`);
        writeFileSync(old, 'old');
        execFileSync('touch', ['-d', `2020-01-0${i + 1}`, old]);
      }
      const r = run(path.join(SCRIPTS, 'backup-config.sh'), [], {
        env: { PATH: process.env.PATH, CONFIG_DIR: config, BACKUP_DIR: backups, KEEP: '2' },
      });
      expect(r.status).toBe(0);
      const archive = r.stdout.trim().split('\n').at(-1)!;
      expect(run('tar', ['-tzf', archive]).stdout).toContain('globalmcp/application.yml');
      expect(readdirSync(backups).sort()).toEqual(
        [path.basename('globalmcp-config_20200102_000000.tar.gz'), path.basename(archive)].sort(),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  describe('update-application.sh against a fake service', () => {
    let tmp: string;
    let port: number;
    let env: NodeJS.ProcessEnv;
    const pidFile = () => path.join(tmp, 'service.pid');
    const appDir = () => path.join(tmp, 'opt', 'globalmcp');

    /** A release whose dist/src/main.js serves readiness and /actuator/info like the gateway (or dies, when broken). */
    function release(version: string, broken = false): string {
      const root = path.join(tmp, 'build', `globalmcp-${version}`);
      mkdirSync(path.join(root, 'dist', 'src'), { recursive: true });
      writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'globalmcp', version }));
      writeFileSync(path.join(root, 'package-lock.json'), '{}');
      writeFileSync(
        path.join(root, 'dist', 'src', 'main.js'),
        `const version = require('../../package.json').version;
if (process.argv.includes('--validate-config')) process.exit(0);
if (${broken}) { console.error('boom'); process.exit(1); }
require('node:http').createServer((req, res) => {
  if (req.url === '/actuator/health/readiness') return res.end('{"status":"UP"}');
  if (req.url === '/actuator/info') return res.end(JSON.stringify({ build: { version } }));
  res.statusCode = 404; res.end();
}).listen(Number(process.env.FAKE_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));`,
      );
      const tarball = path.join(tmp, `globalmcp-${version}.tar.gz`);
      execFileSync('tar', ['-czf', tarball, '-C', path.dirname(root), path.basename(root)]);
      const sum = createHash('sha256').update(readFileSync(tarball)).digest('hex');
      writeFileSync(`${tarball}.sha256`, `${sum}  ${path.basename(tarball)}\n`);
      return tarball;
    }

    beforeAll(async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'globalmcp-update-'));
      port = await freePort();
      // systemctl stand-in: start/stop/restart `node APP_DIR/dist/src/main.js`, its PID in a file.
      const fake = path.join(tmp, 'fake-systemctl');
      writeFileSync(
        fake,
        `#!/usr/bin/env bash
set -euo pipefail
stop() { if [ -f "${pidFile()}" ]; then kill "$(cat "${pidFile()}")" 2>/dev/null || true; while kill -0 "$(cat "${pidFile()}")" 2>/dev/null; do sleep 0.05; done; rm -f "${pidFile()}"; fi; }
start() { FAKE_PORT=${port} "${process.execPath}" "${appDir()}/dist/src/main.js" </dev/null >>"${tmp}/service.log" 2>&1 & echo $! >"${pidFile()}"; }
case "$1" in start) start ;; stop) stop ;; restart) stop; start ;; *) ;; esac
`,
      );
      chmodSync(fake, 0o755);
      mkdirSync(path.dirname(appDir()), { recursive: true });
      execFileSync('tar', ['-xzf', release('7.1.0'), '-C', path.dirname(appDir())]);
      execFileSync('mv', [path.join(path.dirname(appDir()), 'globalmcp-7.1.0'), appDir()]);
      env = {
        PATH: process.env.PATH,
        APP_DIR: appDir(),
        CONFIG_FILE: path.join(tmp, 'application.yml'),
        SYSTEMCTL: fake,
        HEALTH_URL: `http://127.0.0.1:${port}/actuator/health/readiness`,
        INFO_URL: `http://127.0.0.1:${port}/actuator/info`,
        WAIT_TRIES: '40',
        WAIT_INTERVAL: '0.25',
        NODE: process.execPath,
        NPM: 'true',
        SKIP_BACKUP: '1',
      };
      execFileSync(fake, ['start']);
      for (let i = 0; i < 100; i++) {
        if (run('curl', ['-fsS', '-o', '/dev/null', `http://127.0.0.1:${port}/actuator/info`]).status === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    afterAll(() => {
      if (existsSync(pidFile())) {
        const pid = Number(readFileSync(pidFile(), 'utf8'));
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      rmSync(tmp, { recursive: true, force: true });
    });

    // curl, not fetch: fetch's pooled keep-alive socket would point at the replaced process.
    const infoVersion = () =>
      Promise.resolve(
        (
          JSON.parse(run('curl', ['-fsS', `http://127.0.0.1:${port}/actuator/info`]).stdout) as {
            build: { version: string };
          }
        ).build.version,
      );

    it('installs a release tarball, checks it, restarts and verifies the version', async () => {
      expect(await infoVersion()).toBe('7.1.0');
      const r = run(path.join(SCRIPTS, 'update-application.sh'), ['--tarball', release('7.2.0'), '7.2.0'], {
        env,
        timeoutMs: 60_000,
      });
      expect(r.output).toContain('Update successful');
      expect(r.status).toBe(0);
      expect(await infoVersion()).toBe('7.2.0');
      expect(JSON.parse(readFileSync(path.join(`${appDir()}.previous`, 'package.json'), 'utf8')).version).toBe('7.1.0');
    });

    it('--rollback returns to the release before the last update', async () => {
      const r = run(path.join(SCRIPTS, 'update-application.sh'), ['--rollback'], { env, timeoutMs: 60_000 });
      expect(r.output).toContain('Rollback to 7.1.0 completed');
      expect(JSON.parse(readFileSync(path.join(`${appDir()}.previous`, 'package.json'), 'utf8')).version).toBe('7.2.0');
      expect(r.status).toBe(0);
      expect(await infoVersion()).toBe('7.1.0');
    });
    it('refuses a tarball whose checksum does not match, changing nothing', async () => {
      const tarball = release('7.2.1');
      writeFileSync(`${tarball}.sha256`, `${'0'.repeat(64)}  ${path.basename(tarball)}\n`);
      const r = run(path.join(SCRIPTS, 'update-application.sh'), ['--tarball', tarball, '7.2.1'], {
        env,
        timeoutMs: 60_000,
      });
      expect(r.output).toContain('Checksum verification failed');
      expect(r.status).not.toBe(0);
      expect(await infoVersion()).toBe('7.1.0');
    });

    it('rolls back to the running release when the new one does not come up', async () => {
      const r = run(path.join(SCRIPTS, 'update-application.sh'), ['--tarball', release('7.3.0', true), '7.3.0'], {
        env: { ...env, WAIT_TRIES: '6' },
        timeoutMs: 60_000,
      });
      expect(r.output).toContain('Update failed, rolling back');
      expect(r.output).toContain('Rolled back to 7.1.0');
      expect(r.status).toBe(1);
      expect(await infoVersion()).toBe('7.1.0');
      expect(JSON.parse(readFileSync(path.join(`${appDir()}.failed`, 'package.json'), 'utf8')).version).toBe('7.3.0');
    });
  });
});
