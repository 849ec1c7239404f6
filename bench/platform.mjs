#!/usr/bin/env node
// Platform choice evidence: the same trivial Nest route (GET /ping → {"ok":true}) on @nestjs/platform-fastify and
// @nestjs/platform-express, each served by its own child process, loaded with autocannon -c 50 from this process.
//
//   node bench/platform.mjs [--seconds 5] [--json out.json]
//   node bench/platform.mjs --serve fastify|express --port N     (the server side; used by the above)
//
// Plain .mjs: the controller is declared by calling Nest's decorator factories as functions (Reflect.decorate).
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { freePort, killGroup, summarize, sleepUnref } from './lib/common.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};

async function serve(platform, port) {
  const { Controller, Get, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');

  class PingController {
    ping() {
      return { ok: true };
    }
  }
  Reflect.decorate(
    [Get('ping')],
    PingController.prototype,
    'ping',
    Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'),
  );
  Reflect.decorate([Controller()], PingController);
  class PingModule {}
  Reflect.decorate([Module({ controllers: [PingController] })], PingModule);

  let adapter;
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    adapter = new FastifyAdapter();
  } else {
    const { ExpressAdapter } = await import('@nestjs/platform-express');
    adapter = new ExpressAdapter();
  }
  const app = await NestFactory.create(PingModule, adapter, { logger: false });
  await app.listen(port, '127.0.0.1');
  process.stdout.write('READY\n');
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
}

function load(url, connections, seconds) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon({ url, connections, duration: seconds }, (error, result) => {
      if (error) return reject(error);
      resolve({
        connections,
        seconds: result.duration,
        rps: Math.round(result.requests.total / result.duration),
        non2xx: result.non2xx,
        errors: result.errors,
        latency: summarize(latencies),
      });
    });
    instance.on('response', (_c, _s, _b, responseTime) => latencies.push(responseTime));
  });
}

async function measure(platform, seconds) {
  const port = await freePort();
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [self, '--serve', platform, '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => line === 'READY' && resolve());
      child.once('exit', (code) => reject(new Error(`${platform} server exited (${code})`)));
      setTimeout(() => reject(new Error(`${platform} server not ready in 30 s`)), 30_000).unref();
    });
    const url = `http://127.0.0.1:${port}/ping`;
    const check = await fetch(url).then((r) => r.json());
    if (check?.ok !== true) throw new Error(`${platform}: unexpected /ping answer ${JSON.stringify(check)}`);
    await load(url, 50, 1); // warm-up
    return { platform, ...(await load(url, 50, seconds)) };
  } finally {
    killGroup(child.pid, 'SIGTERM');
    await Promise.race([exited, sleepUnref(3000)]);
    killGroup(child.pid, 'SIGKILL');
  }
}

if (process.argv.includes('--serve')) {
  await serve(arg('--serve'), Number(arg('--port')));
} else {
  const seconds = Number(arg('--seconds', '5'));
  const results = [];
  for (const platform of ['fastify', 'express']) results.push(await measure(platform, seconds));
  const out = { node: process.version, seconds, connections: 50, results };
  const json = arg('--json');
  if (json) writeFileSync(json, JSON.stringify(out, null, 2));
  process.stdout.write('| platform | req/s | p50 ms | p99 ms | non-2xx | errors |\n|---|---|---|---|---|---|\n');
  for (const r of results) {
    process.stdout.write(
      `| ${r.platform} | ${r.rps} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx} | ${r.errors} |\n`,
    );
  }
}
