import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pino from 'pino';
import { pinoHttp } from 'pino-http';
import { httpLoggingOptions } from './http-logging.options';
import { closeRootLogger, createRootLogger } from './logger.factory';
import { CapturedOutput, configWithLogging } from './logging.test-support';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('httpLoggingOptions', () => {
  let server: Server;
  let root: pino.Logger;
  let output: CapturedOutput;
  let port: number;

  beforeEach(async () => {
    output = new CapturedOutput();
    root = createRootLogger(configWithLogging({}), { console: output });
    const middleware = pinoHttp(httpLoggingOptions(root));
    server = createServer((req, res) => {
      middleware(req, res);
      req.log.info({ context: 'ServersController' }, 'handling');
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      res.statusCode = status;
      res.end(typeof req.id === 'string' ? req.id : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await closeRootLogger(root);
  });

  function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The response is sent before the server's 'finish' handler runs; give it a turn. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('takes a valid X-Request-Id as req.id and tags every line of the request with it', async () => {
    const { body } = await get('/api/servers?token=secret', { 'x-request-id': 'trace-1.a:b_C-2' });
    await settle();
    expect(body).toBe('trace-1.a:b_C-2');
    const [handling, completed] = output.records;
    expect(handling).toMatchObject({ request_id: 'trace-1.a:b_C-2', context: 'ServersController', msg: 'handling' });
    expect(completed).toMatchObject({
      level: 'INFO',
      request_id: 'trace-1.a:b_C-2',
      context: 'HttpRequest',
      method: 'GET',
      url: '/api/servers',
      status: 200,
      durationMs: expect.any(Number),
      msg: 'request completed',
    });
    expect(JSON.stringify(output.records)).not.toContain('secret'); // the query string stays out
  });

  it.each([
    ['over 128 characters', 'x'.repeat(129)],
    ['with a space', 'has space'],
    ['with a semicolon', 'semi;colon'],
  ])('replaces an X-Request-Id %s with a UUID', async (_label, given) => {
    const { body } = await get('/api/x', { 'x-request-id': given });
    expect(body).toMatch(UUID);
  });

  it('generates a UUID when no X-Request-Id is sent', async () => {
    const { body } = await get('/api/x');
    await settle();
    expect(body).toMatch(UUID);
    expect(output.records.at(-1)).toMatchObject({ request_id: body });
  });

  it('logs 4xx at warn and 5xx at error, without an invented stack', async () => {
    await get('/api/x?status=404');
    await get('/api/x?status=503');
    await settle();
    const completed = output.records.filter((r) => r.context === 'HttpRequest');
    expect(completed.map((r) => [r.level, r.status])).toEqual([
      ['WARN', 404],
      ['ERROR', 503],
    ]);
    expect(completed[1]).not.toHaveProperty('err');
  });

  it('does not log /actuator probes, though they still get an id', async () => {
    const { body } = await get('/actuator/health/liveness');
    await settle();
    expect(body).toMatch(UUID);
    expect(output.records.filter((r) => r.context === 'HttpRequest')).toEqual([]);
  });
});
