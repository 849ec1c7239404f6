import helmet, { type HelmetOptions } from 'helmet';
import { createServer, request, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { helmetHeaders } from './fastify-adapter';

/** The headers helmet's own middleware puts on a real response of a real server. */
async function helmetOnARealResponse(options: HelmetOptions): Promise<OutgoingHttpHeaders> {
  const server = createServer((req, res) => {
    helmet(options)(req, res, () => {
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        const { connection: _c, date: _d, 'content-length': _l, 'transfer-encoding': _t, ...rest } = res.headers;
        resolve(rest);
      })
        .on('error', reject)
        .end();
    });
  } finally {
    server.close();
  }
}

describe('helmetHeaders', () => {
  const cases: Record<string, HelmetOptions> = {
    'the defaults': {},
    'the API listener without TLS, CORS closed': {
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
      crossOriginResourcePolicy: { policy: 'same-origin' },
    },
    'the API listener with TLS, CORS open': {
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: [] } },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
    },
  };

  it.each(Object.entries(cases))('are what helmet itself sends with %s', async (_name, options) => {
    const expected = await helmetOnARealResponse(options);
    const computed = Object.fromEntries(helmetHeaders(options).map(([name, value]) => [name.toLowerCase(), value]));
    expect(computed).toEqual(expected);
    expect(Object.keys(computed).length).toBeGreaterThan(10);
  });

  it('keeps upgrade-insecure-requests out of the CSP unless asked for', () => {
    const csp = (options: HelmetOptions) => new Map(helmetHeaders(options)).get('Content-Security-Policy') ?? '<none>';
    expect(csp(cases['the API listener without TLS, CORS closed']!)).not.toContain('upgrade-insecure-requests');
    expect(csp(cases['the API listener with TLS, CORS open']!)).toContain('upgrade-insecure-requests');
  });

  it('refuses options helmet refuses, at start-up', () => {
    expect(() =>
      helmetHeaders({ contentSecurityPolicy: { directives: { 'default-src': ["'self'; script-src *"] } } }),
    ).toThrow();
  });
});
