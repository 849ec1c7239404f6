import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { isAlive } from '../support/processes';
import { waitFor } from '../support/wait';
import { rehearseDockerfile, type RehearsedImage } from './dockerfile-rehearsal';
import { DOCKER, REPO, requireTool, which } from './ops-tools';

/**
 * docker/Dockerfile, rehearsed without a Docker engine (see dockerfile-rehearsal.ts): both stages' steps run for real
 * (npm ci and the build, then the production-only install and the embedded PostgreSQL's symlink step), and the
 * image's own start command (`tini -- node dist/src/main.js` as uid 1000, its ENV, no --config) must give a ready
 * gateway with the demo server on the embedded PostgreSQL, pass the HEALTHCHECK, and on SIGTERM to PID "1" (tini)
 * exit cleanly leaving no process behind. What is not covered: the base image itself and `docker build` semantics
 * beyond the instructions the file uses.
 */

const ADMIN_KEY = 'docker-rehearsal-admin-key-4c1e9b7a2d5f8e30';

/** PIDs of processes whose command line or working directory is inside `root`. */
function processesUnder(root: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // a process of another user or one that just ended
      }
      if (cmdline.includes(root) || cwd.startsWith(root)) found.push(Number(entry));
    } catch {
      // ended while listing
    }
  }
  return found;
}

describe('docker/Dockerfile rehearsed on the host (no Docker engine here)', () => {
  let tmp: string;
  let image: RehearsedImage;
  let tini: ChildProcess | undefined;
  let ports: { api: number; management: number; metrics: number };
  let output = '';
  const steps: string[] = [];

  beforeAll(async () => {
    requireTool('tini', 'tini');
    // Under /tmp (not a possibly private TMPDIR): the image's user, uid 1000, must reach its /app.
    tmp = mkdtempSync(path.join('/tmp', 'globalmcp-docker-rehearsal-'));
    chmodSync(tmp, 0o755);
    // npm's cache: a hard-linked copy of the caller's, so that the image's `npm cache clean --force` empties the copy.
    const cache = path.join(tmp, 'npm-cache');
    const home = process.env.HOME ?? os.homedir();
    const userCache = path.join(home, '.npm', '_cacache');
    if (existsSync(userCache)) spawnSync('cp', ['-al', userCache, path.join(cache, '_cacache')], { stdio: 'ignore' });
    // How this machine reaches the npm registry (a proxy, its CA) goes in as a docker build would get it (build
    // args / the daemon's settings): npm ci asks the registry for what the copied cache lacks.
    const network = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          entry[1] !== undefined &&
          /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|(HTTPS?|NO)_PROXY|(https?|no)_proxy|npm_config_(registry|cafile|proxy|https_proxy|strict_ssl))$/.test(
            entry[0],
          ),
      ),
    );
    const baseEnv = {
      ...network,
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: path.join(tmp, 'home'),
      npm_config_cache: cache,
      npm_config_update_notifier: 'false',
    };
    image = rehearseDockerfile({
      dockerfile: path.join(DOCKER, 'Dockerfile'),
      context: REPO,
      workRoot: tmp,
      buildArgs: { GIT_COMMIT: 'feedc0ffee12' },
      baseEnv,
      log: (line) => steps.push(line),
    });
    ports = { api: await freePort(), management: await freePort(), metrics: await freePort() };
  }, 900_000);

  afterAll(async () => {
    if (tini?.pid && isAlive(tini.pid)) tini.kill('SIGKILL');
    if (tmp) {
      for (const pid of processesUnder(tmp)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('builds: dist from the build stage, production dependencies only, the packages apt would install are present', () => {
    expect(steps.some((s) => s.startsWith('RUN npm ci --no-audit --no-fund'))).toBe(true);
    expect(existsSync(image.hostPath('/app/dist/src/main.js'))).toBe(true);
    expect(existsSync(image.hostPath('/app/config/application.yml'))).toBe(true);
    expect(existsSync(image.hostPath('/app/node_modules/@nestjs/core'))).toBe(true);
    expect(existsSync(image.hostPath('/app/node_modules/jest'))).toBe(false); // a devDependency
    expect(existsSync(image.hostPath('/app/src'))).toBe(false);
    expect(image.aptPackages).toEqual(expect.arrayContaining(['tini']));
    for (const pkg of image.aptPackages) expect(spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status).toBe(0);
    expect(image.user).toBe('1000:1000');
    expect(image.exposed).toEqual([8080, 8081, 9090]);
  });

  it("starts with the image's command as uid 1000: ready on the embedded PostgreSQL, demo server active, HEALTHCHECK passes", async () => {
    const [uid, gid] = image.user!.split(':');
    const command = [...image.entrypoint, ...image.cmd];
    tini = spawn(which('setpriv')!, [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...command], {
      cwd: image.hostPath(image.workdir),
      env: {
        PATH: process.env.PATH,
        HOME: image.hostPath('/home/node'),
        ...image.env,
        SERVER_ADDRESS: '127.0.0.1',
        SERVER_PORT: String(ports.api),
        MANAGEMENT_SERVER_PORT: String(ports.management),
        MANAGEMENT_PROMETHEUS_PORT: String(ports.metrics),
        GLOBALMCP_ADMIN_API_KEY: ADMIN_KEY,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tini.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-100_000)));
    tini.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-100_000)));
    await waitFor(
      async () => {
        if (tini!.exitCode !== null) throw new Error(`exited with ${tini!.exitCode}:\n${output.slice(-4000)}`);
        return (
          (await fetch(`http://127.0.0.1:${ports.management}/actuator/health/readiness`).catch(() => undefined))
            ?.status === 200
        );
      },
      120_000,
      'the rehearsed image to be ready',
    );
    const info = (await (
      await fetch(`http://127.0.0.1:${ports.management}/actuator/info`, { headers: { 'X-API-Key': ADMIN_KEY } })
    ).json()) as {
      build: { version: string };
      git?: { commit?: { id?: string } };
    };
    expect(JSON.stringify(info)).toContain('feedc0ffee12'); // GIT_COMMIT reached the build stage
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${ports.api}/api/servers/everything`, {
          headers: { 'X-API-Key': ADMIN_KEY },
        });
        return res.status === 200 && ((await res.json()) as { status: string }).status === 'active';
      },
      60_000,
      'the demo server to be active',
    );
    // The data directory is the image's volume, written by uid 1000.
    expect(readdirSync(image.env.GLOBALMCP_DATA_DIR!).length).toBeGreaterThan(0);
    const health = spawnSync(image.healthcheck[0]!, image.healthcheck.slice(1), {
      env: { PATH: process.env.PATH, MANAGEMENT_SERVER_PORT: String(ports.management) },
      timeout: 15_000,
    });
    expect(health.status).toBe(0);
  }, 240_000);

  it('SIGTERM to tini stops the gateway cleanly and leaves no process; the HEALTHCHECK then fails', async () => {
    expect(tini?.pid).toBeDefined();
    const under = processesUnder(tmp);
    expect(under.length).toBeGreaterThan(2); // tini, node, the demo server, PostgreSQL...
    const exited = new Promise<number | null>((resolve) => tini!.once('exit', (code) => resolve(code)));
    tini!.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(async () => processesUnder(tmp).length === 0, 20_000, 'every process of the image to end').catch(
      (error: Error) => {
        throw new Error(`${error.message}: ${processesUnder(tmp).join(', ')}\n${output.slice(-3000)}`);
      },
    );
    const health = spawnSync(image.healthcheck[0]!, image.healthcheck.slice(1), {
      env: { PATH: process.env.PATH, MANAGEMENT_SERVER_PORT: String(ports.management) },
      timeout: 15_000,
    });
    expect(health.status).toBe(1);
  }, 60_000);
});
