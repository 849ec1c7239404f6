import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A rehearsal of docker/Dockerfile without a Docker engine (none runs on this machine): its instructions are read
 * and carried out on the host, each stage in a directory of its own that stands for the image's `/`. RUN lines run
 * with `sh -c` in the stage's WORKDIR with the stage's ARG/ENV, absolute paths under a WORKDIR mapped into the
 * stage directory; COPY takes files from the context (the repository, less the .dockerignore patterns) or from an
 * earlier stage. What only the base image could do is checked instead of run: `apt-get` lines are turned into "these
 * Debian packages must be installed" (the host is Debian bookworm, as node:22-bookworm-slim is). The result keeps
 * USER, ENTRYPOINT, CMD, HEALTHCHECK and EXPOSE for the test to run the image's start command as that user.
 */
export interface RehearsedImage {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  exposed: number[];
  aptPackages: string[];
  /** Maps a path inside the image to the host. */
  hostPath(imagePath: string): string;
}

interface Stage {
  name: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
  workdirs: string[];
}

/** Instructions with continuation lines joined and comments dropped. */
export function dockerInstructions(text: string): { op: string; args: string }[] {
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const space = line.indexOf(' ');
      return { op: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
}

function ignoredBy(patterns: string[]): (relative: string) => boolean {
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/[.+^${}()|[\]]/g, '\\$&')
      .replace(/\*\*\//g, '(?:.*/)?')
      .replace(/\*/g, '[^/]*');
    return new RegExp(`^${body}(?:/.*)?$`);
  });
  return (relative) => regexes.some((r) => r.test(relative));
}

function jsonArray(args: string): string[] {
  return JSON.parse(args) as string[];
}

export function rehearseDockerfile(options: {
  dockerfile: string;
  context: string;
  workRoot: string;
  buildArgs?: Record<string, string>;
  baseEnv: Record<string, string>;
  log: (line: string) => void;
}): RehearsedImage {
  const text = readFileSync(options.dockerfile, 'utf8');
  const ignoreFile = `${options.dockerfile}.dockerignore`;
  const patterns = existsSync(ignoreFile)
    ? readFileSync(ignoreFile, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [];
  const ignored = ignoredBy(patterns);
  const stages: Stage[] = [];
  const globalArgs: Record<string, string> = {};
  let stage: Stage | undefined;
  const image = {
    user: undefined as string | undefined,
    entrypoint: [] as string[],
    cmd: [] as string[],
    healthcheck: [] as string[],
    exposed: [] as number[],
    aptPackages: [] as string[],
  };

  const mapPaths = (s: Stage, command: string) =>
    s.workdirs.reduce(
      (acc, dir) =>
        acc.replace(new RegExp(`(^|[\\s=:"'])${dir.replace(/[/.]/g, '\\$&')}(?=[/\\s"']|$)`, 'g'), `$1${s.root}${dir}`),
      command,
    );
  const expand = (value: string, vars: Record<string, string>) =>
    value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');

  for (const { op, args } of dockerInstructions(text)) {
    if (op === 'ARG') {
      const [name, ...rest] = args.split('=');
      const value = options.buildArgs?.[name!] ?? (rest.length ? rest.join('=').replace(/^"(.*)"$/, '$1') : '');
      if (stage) stage.env[name!] = value;
      else globalArgs[name!] = value;
      continue;
    }
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.length}`;
      const root = path.join(options.workRoot, name);
      mkdirSync(root, { recursive: true });
      stage = { name, root, workdir: '/', env: { ...options.baseEnv }, workdirs: [] };
      stages.push(stage);
      options.log(`FROM ${expand(args, globalArgs)}`);
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    const s = stage;
    const host = (p: string) => path.join(s.root, path.isAbsolute(p) ? p : path.join(s.workdir, p));
    switch (op) {
      case 'WORKDIR':
        s.workdir = path.resolve(s.workdir, args);
        s.workdirs.push(s.workdir);
        mkdirSync(host(s.workdir), { recursive: true });
        break;
      case 'ENV': {
        for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) s.env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
        break;
      }
      case 'COPY': {
        const parts = args.split(/\s+/);
        const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
        const dest = parts.pop()!;
        for (const src of parts) {
          const target = path.join(host(dest), dest.endsWith('/') ? path.basename(src) : '');
          if (from) {
            const source = stages.find((x) => x.name === from);
            if (!source) throw new Error(`COPY --from=${from}: no such stage`);
            cpSync(path.join(source.root, src), target, { recursive: true });
          } else {
            if (ignored(path.normalize(src))) throw new Error(`COPY ${src}: excluded by the .dockerignore`);
            cpSync(path.join(options.context, src), target, {
              recursive: true,
              filter: (file) => {
                const relative = path.relative(options.context, file);
                return relative === '' || !ignored(relative);
              },
            });
          }
          options.log(`COPY ${from ? `--from=${from} ` : ''}${src} -> ${dest}`);
        }
        break;
      }
      case 'RUN': {
        if (/^apt-get\b/.test(args)) {
          const install = /apt-get install ([^&;]+)/.exec(args)?.[1] ?? '';
          image.aptPackages.push(...install.split(/\s+/).filter((w) => w && !w.startsWith('-')));
          options.log(`RUN (checked, not run) ${args}`);
          break;
        }
        const command = mapPaths(s, args);
        options.log(`RUN ${command}`);
        const r = spawnSync('sh', ['-c', command], {
          cwd: host(s.workdir),
          env: { ...s.env, ...Object.fromEntries(Object.entries(s.env).map(([k, v]) => [k, mapPaths(s, v)])) },
          encoding: 'utf8',
          timeout: 600_000,
        });
        if (r.status !== 0) throw new Error(`RUN ${args} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
        break;
      }
      case 'USER':
        image.user = args;
        break;
      case 'EXPOSE':
        image.exposed = args.split(/\s+/).map(Number);
        break;
      case 'ENTRYPOINT':
        image.entrypoint = jsonArray(args);
        break;
      case 'CMD':
        image.cmd = jsonArray(args);
        break;
      case 'HEALTHCHECK':
        image.healthcheck = jsonArray(args.slice(args.indexOf('CMD ') + 4));
        break;
      case 'VOLUME':
      case 'LABEL':
        break;
      default:
        throw new Error(`Dockerfile instruction ${op} is not rehearsed: teach dockerfile-rehearsal.ts about it`);
    }
  }
  const last = stages.at(-1)!;
  return {
    ...image,
    root: last.root,
    workdir: last.workdir,
    env: Object.fromEntries(
      Object.entries(last.env)
        .filter(([k]) => !(k in options.baseEnv))
        .map(([k, v]) => [
          k,
          last.workdirs.reduce((acc, dir) => (acc.startsWith(dir) ? path.join(last.root, acc) : acc), v),
        ]),
    ),
    hostPath: (imagePath) => path.join(last.root, imagePath),
  };
}
