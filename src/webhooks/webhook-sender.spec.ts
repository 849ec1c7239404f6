import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postJson } from './webhook-sender';

describe('postJson', () => {
  let server: Server;
  let port: number;
  const seen: Array<{ host: string | undefined; body: string; type: string | undefined }> = [];
  let status = 204;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ host: req.headers.host, body, type: req.headers['content-type'] });
        res.statusCode = status;
        if (status === 302) res.setHeader('location', 'http://169.254.169.254/');
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('connects to the checked addresses only: the host name is not resolved again', async () => {
    // `.invalid` never resolves (RFC 2606): reaching the server proves the pinned address was used.
    const result = await postJson(new URL(`http://hooks.invalid:${port}/x`), ['127.0.0.1'], '{"a":1}', {}, 5000);
    expect(result).toEqual({ statusCode: 204 });
    expect(seen.at(-1)).toEqual({ host: `hooks.invalid:${port}`, body: '{"a":1}', type: 'application/json' });
  });

  it('does not follow redirects (a 3xx is an answer, not a new destination)', async () => {
    status = 302;
    const before = seen.length;
    expect(await postJson(new URL(`http://127.0.0.1:${port}/`), ['127.0.0.1'], '{}', {}, 5000)).toEqual({
      statusCode: 302,
    });
    expect(seen.length).toBe(before + 1);
    status = 204;
  });

  it('reports a refused connection as an error without a status', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await postJson(new URL(`http://127.0.0.1:${freePort}/`), ['127.0.0.1'], '{}', {}, 5000);
    expect(result.statusCode).toBeUndefined();
    expect(result.error).toMatch(/ECONNREFUSED/);
  });
});
