import Fastify, { type FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import type pino from 'pino';
import { requestIdFor } from 'src/common/http/request-id';
import { closeRootLogger, createRootLogger } from './logger.factory';
import { CapturedOutput, configWithLogging } from './logging.test-support';
import { RequestLogging } from './request-logging';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('RequestLogging', () => {
  let fastify: FastifyInstance;
  let root: pino.Logger;
  let output: CapturedOutput;
  let base: string;

  beforeAll(async () => {
    output = new CapturedOutput();
    root = createRootLogger(configWithLogging({}), { console: output });
    // nestjs-pino's root for lines logged inside a request, as LoggingModule sets it.
    const context = new PinoLogger({ pinoHttp: { logger: root } });
    const inRequest = new PinoLogger({});
    inRequest.setContext('ServersController');
    fastify = Fastify({ genReqId: requestIdFor });
    new RequestLogging(root, context).attach(fastify);
    fastify.get('/api/x', async (request, reply) => {
      await new Promise((resolve) => setImmediate(resolve)); // a line logged after an await keeps the request id
      inRequest.info('handling');
      const status = Number((request.query as { status?: string }).status ?? 200);
      return reply.status(status).send(request.id);
    });
    fastify.get('/api/servers/:id', (request) => request.id);
    fastify.get('/actuator/health/liveness', (request) => request.id);
    fastify.get('/api/hijacked', (request, reply) => {
      reply.hijack();
      setImmediate(() => reply.raw.writeHead(202).end(request.id));
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const address = fastify.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await fastify.close();
    await closeRootLogger(root);
  });

  beforeEach(() => {
    output.chunks.length = 0;
  });

  async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const response = await fetch(`${base}${path}`, { headers });
    const body = await response.text();
    // The access line is written when the raw response finishes; give it a turn.
    await new Promise((resolve) => setImmediate(resolve));
    return { status: response.status, body };
  }

  const accessLines = () => output.records.filter((r) => r.context === 'HttpRequest');

  it('takes a valid X-Request-Id as the request id and tags every line of the request with it', async () => {
    const { body } = await get('/api/x?token=secret', { 'x-request-id': 'trace-1.a:b_C-2' });
    expect(body).toBe('trace-1.a:b_C-2');
    const [handling, completed] = output.records;
    expect(handling).toMatchObject({ request_id: 'trace-1.a:b_C-2', context: 'ServersController', msg: 'handling' });
    expect(completed).toMatchObject({
      level: 'INFO',
      request_id: 'trace-1.a:b_C-2',
      context: 'HttpRequest',
      method: 'GET',
      url: '/api/x',
      route: '/api/x',
      status: 200,
      durationMs: expect.any(Number),
      msg: 'request completed',
    });
    expect(JSON.stringify(output.records)).not.toContain('secret'); // the query string stays out
  });

  it('logs the route template beside the path, and lines outside a request carry no request id', async () => {
    await get('/api/servers/alpha');
    root.info({ context: 'Outside' }, 'not in a request');
    expect(accessLines()).toEqual([
      expect.objectContaining({ url: '/api/servers/alpha', route: '/api/servers/:id', status: 200 }),
    ]);
    expect(output.records.at(-1)).not.toHaveProperty('request_id');
  });

  it.each([
    ['over 128 characters', 'x'.repeat(129)],
    ['with a space', 'has space'],
    ['with a semicolon', 'semi;colon'],
  ])('replaces an X-Request-Id %s with a UUID', async (_label, given) => {
    const { body } = await get('/api/x', { 'x-request-id': given });
    expect(body).toMatch(UUID);
    expect(accessLines()[0]).toMatchObject({ request_id: body });
  });

  it('generates a UUID when no X-Request-Id is sent', async () => {
    const { body } = await get('/api/x');
    expect(body).toMatch(UUID);
    expect(output.records.at(-1)).toMatchObject({ request_id: body });
  });

  it('logs 4xx at warn and 5xx at error ("request failed"), without an invented stack', async () => {
    await get('/api/x?status=404');
    await get('/api/x?status=503');
    await get('/api/no-such-route');
    expect(accessLines().map((r) => [r.level, r.status, r.msg])).toEqual([
      ['WARN', 404, 'request completed'],
      ['ERROR', 503, 'request failed'],
      ['WARN', 404, 'request completed'],
    ]);
    expect(accessLines()[1]).not.toHaveProperty('err');
  });

  it('logs a hijacked reply when its raw response finishes', async () => {
    const { status, body } = await get('/api/hijacked');
    expect(status).toBe(202);
    expect(accessLines()).toEqual([expect.objectContaining({ request_id: body, url: '/api/hijacked', status: 202 })]);
  });

  it('does not log /actuator probes, though they still get an id', async () => {
    const { body } = await get('/actuator/health/liveness');
    expect(body).toMatch(UUID);
    expect(accessLines()).toEqual([]);
  });
});
