import { randomUUID } from 'node:crypto';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

interface Envelope {
  error: { code: string; message: string };
}

/** Bodies as clients send them: an empty body with any type where no body is taken; JSON or 415 everywhere else. */
describe('request bodies and content types', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('bodies');
    gateway = await startTestGateway({ databaseUrl: db.url });
  });

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const send = async (method: string, path: string, body: string, contentType?: string) => {
    const res = await fetch(`${gateway.addresses.api}${path}`, {
      method,
      headers: { ...ADMIN_HEADERS, ...(contentType ? { 'content-type': contentType } : {}) },
      body: Buffer.from(body), // bytes: fetch adds no content type of its own (a string gets text/plain)
    });
    return { status: res.status, body: (await res.json()) as Envelope };
  };

  const TYPES = [
    'application/json',
    'application/json; charset=utf-8',
    'application/x-www-form-urlencoded',
    'text/plain',
  ];

  it.each([
    ['POST', `/api/executions/${randomUUID()}/cancel`],
    ['POST', '/api/servers/no-such-server/restart'],
    ['DELETE', `/api/webhooks/${randomUUID()}`],
    ['DELETE', '/api/servers/no-such-server'],
  ])(
    '%s %s takes no body: an empty one with any content type reaches the operation (404 for an unknown id)',
    async (method, path) => {
      for (const type of [...TYPES, undefined]) {
        const res = await send(method, path, '', type);
        expect({ type, status: res.status, code: res.body.error.code }).toEqual({
          type,
          status: 404,
          code: 'RESOURCE_NOT_FOUND',
        });
      }
    },
  );

  it.each([
    ['POST', '/api/tools/echo/execute', 'application/x-www-form-urlencoded', 'message=hi'],
    ['POST', '/api/tools/echo/execute', 'text/plain', 'hello'],
    ['POST', '/api/tools/echo/execute', undefined, '{"parameters":{"message":"hi"}}'],
    ['POST', '/api/servers', 'multipart/form-data; boundary=x', '--x--'],
    ['POST', `/api/executions/${randomUUID()}/cancel`, 'application/x-www-form-urlencoded', 'reason=x'],
    ['POST', '/mcp', 'text/plain', '{}'],
  ])('%s %s with a %s body is a 415 naming application/json', async (method, path, type, body) => {
    const res = await send(method, path, body, type);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(res.body.error.message).toContain('application/json');
  });

  it('still refuses an empty JSON body where the operation needs one', async () => {
    const res = await send('POST', '/api/tools/echo/execute', '', 'application/json');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/cannot be empty/);
  });
});
