import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_HEADERS, TEST_ADMIN_KEY } from '../support/auth';
import { EVERYTHING, REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';

const run = promisify(execFile);
const BIN = path.join(REPO, 'node_modules', '.bin');
const SCHEMA_SERVER = path.join(__dirname, 'fixtures', 'schema-server.js');
// Keep the CLIs off the network (closed here) and quiet.
const CLI_ENV = {
  ...process.env,
  REDOCLY_TELEMETRY: 'off',
  REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  NO_UPDATE_NOTIFIER: '1',
};

/**
 * A program written against the client openapi-typescript generates from the live document: tool arguments and
 * results are typed per tool, and `@ts-expect-error` lines prove that wrong arguments do not compile.
 */
const CLIENT_PROGRAM = `
import type { paths } from './api';

type Post<P extends keyof paths> = paths[P] extends { post: infer O } ? O : never;
// The body of a per-tool operation is the tool's arguments (optional when it has no required argument).
type BodyOf<P extends keyof paths> = Post<P> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
type QueryOf<P extends keyof paths> = Post<P> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type OkOf<P extends keyof paths> = Post<P> extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never;

async function call<P extends keyof paths>(path: P, body: BodyOf<P>, query?: QueryOf<P>): Promise<OkOf<P>> {
  const search = new URLSearchParams(Object.entries(query ?? {}).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const res = await fetch(process.env.API_URL + String(path) + (search ? '?' + search : ''), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': process.env.API_KEY ?? '' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(String(path) + ': ' + res.status + ' ' + (await res.text()));
  return (await res.json()) as OkOf<P>;
}

const sumArgs: BodyOf<'/api/servers/everything/tools/get-sum'> = { a: 2, b: 40 };
// @ts-expect-error a and b are numbers
const wrongSum: BodyOf<'/api/servers/everything/tools/get-sum'> = { a: '2', b: 40 };
// @ts-expect-error message is required
const noMessage: BodyOf<'/api/servers/everything/tools/echo'> = {};
// @ts-expect-error the body is the arguments: no {parameters} wrapper
const wrapped: BodyOf<'/api/servers/everything/tools/echo'> = { parameters: { message: 'x' } };
// @ts-expect-error location is one of three cities
const elsewhere: BodyOf<'/api/servers/everything/tools/get-structured-content'> = { location: 'Paris' };
// @ts-expect-error priority is an enum
const badOrder: BodyOf<'/api/servers/shop/tools/create_order'> = { customer: { email: 'a@b.c' }, priority: 'urgent' };
// @ts-expect-error mode is sync or async
const badMode: QueryOf<'/api/servers/everything/tools/echo'> = { mode: 'later' };
void wrongSum; void noMessage; void wrapped; void elsewhere; void badOrder; void badMode;

async function main(): Promise<void> {
  const echo = await call('/api/servers/everything/tools/echo', { message: 'typed hello' });
  const sum = await call('/api/servers/everything/tools/get-sum', sumArgs, { timeout: 10000, mode: 'sync' });
  const weather = await call('/api/servers/everything/tools/get-structured-content', { location: 'Chicago' });
  const temperature: number | undefined = weather.result.structured_content?.temperature;
  const order = await call('/api/servers/shop/tools/create_order', {
    customer: { email: 'buyer@example.com', referrer: { email: 'friend@example.com' } },
    priority: 'high',
  });
  const orderId: string | undefined = order.result.structured_content?.order_id;
  const status: string = echo.status;
  console.log(JSON.stringify({ status, echo: echo.result.content, sum: sum.result.content, temperature, orderId }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

describe('the live OpenAPI document with standard tooling', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let dir: string;
  let documentFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'globalmcp-openapi-'));
    db = await createTestDatabase('openapi_tooling');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        'mcp:\n  servers:\n' +
        `    everything:\n      type: stdio\n      command: node\n      args: ["${EVERYTHING}", stdio]\n` +
        `    shop:\n      type: stdio\n      command: node\n      args: ["${SCHEMA_SERVER}"]\n`,
    });
    const api = gateway.addresses.api;
    let document: { paths: Record<string, unknown> } = { paths: {} };
    await waitFor(
      async () => {
        document = (await (await fetch(`${api}/v3/api-docs`, { headers: ADMIN_HEADERS })).json()) as typeof document;
        return ['/api/servers/everything/tools/get-sum', '/api/servers/shop/tools/create_order'].every(
          (p) => p in document.paths,
        );
      },
      30_000,
      'the tools of both servers in the document',
    );
    documentFile = path.join(dir, 'openapi.json');
    writeFileSync(documentFile, JSON.stringify(document, null, 2));
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes a Redocly lint (recommended rules) with no errors', async () => {
    const { stdout } = await run(
      path.join(BIN, 'redocly'),
      ['lint', documentFile, '--format', 'json', '--max-problems', '1000'],
      { env: CLI_ENV, maxBuffer: 32 * 1024 * 1024, cwd: dir },
    ).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? '', stderr: error.stderr }));
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    const errors = report.problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId}: ${p.message} at ${p.location.map((l) => l.pointer).join(', ')}`);
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
  }, 120_000);

  it('generates a typed client with openapi-typescript that compiles and calls server-everything tools', async () => {
    await run(path.join(BIN, 'openapi-typescript'), [documentFile, '-o', path.join(dir, 'api.ts')], {
      env: CLI_ENV,
      cwd: dir,
    });
    expect(readFileSync(path.join(dir, 'api.ts'), 'utf8')).toContain('"/api/servers/everything/tools/echo"');
    writeFileSync(path.join(dir, 'client.ts'), CLIENT_PROGRAM);
    // Strict compile: the @ts-expect-error lines fail the build if the generated types let wrong arguments through.
    await run(
      path.join(BIN, 'tsc'),
      [
        '--strict',
        '--noUncheckedIndexedAccess',
        '--target',
        'ES2022',
        '--module',
        'commonjs',
        '--lib',
        'ES2022',
        '--types',
        'node',
        '--typeRoots',
        path.join(REPO, 'node_modules', '@types'),
        '--skipLibCheck',
        '--outDir',
        path.join(dir, 'out'),
        path.join(dir, 'client.ts'),
      ],
      { cwd: dir },
    ).catch((error: { stdout?: string }) => {
      throw new Error(`the generated client does not compile:\n${error.stdout}`);
    });
    const { stdout } = await run(process.execPath, [path.join(dir, 'out', 'client.js')], {
      env: { ...process.env, API_URL: gateway.addresses.api, API_KEY: TEST_ADMIN_KEY },
    });
    const output = JSON.parse(stdout) as Record<string, unknown>;
    expect(output).toEqual({
      status: 'completed',
      echo: [expect.objectContaining({ type: 'text', text: expect.stringContaining('typed hello') })],
      sum: [expect.objectContaining({ type: 'text', text: expect.stringContaining('42') })],
      temperature: 36,
      orderId: expect.any(String),
    });
  }, 120_000);
});
