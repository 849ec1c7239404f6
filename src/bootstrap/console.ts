import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { APP_ROOT } from 'src/common/app-root';
import type { AppConfig } from 'src/config/config.schema';
import { ConsoleConnectOrigins, consoleOAuth2Settings, withConnectSources } from './console-sign-in';

/** Where `npm run build` (console/build.mjs) writes the web console's bundle. */
export const CONSOLE_ASSETS = path.join(APP_ROOT, 'dist', 'console');

/**
 * The web console at /console: static files (public, like Swagger UI, outside Nest's guards), same origin as the
 * API, so the calls it makes carry the caller's credential and go through the guard like any other client's. No
 * build happens at run time: without a built bundle the page answers 404.
 *
 * With an OAuth2 issuer and `mcp.console.oauth2.client-id`, the page signs in there (authorization code + PKCE, in the
 * browser): /console/config.json tells it where, and the page's CSP lets it fetch from the issuer's origins.
 */
export function mountConsole(app: NestFastifyApplication, config: AppConfig): void {
  const fastify = app.getHttpAdapter().getInstance();
  const oauth2 = consoleOAuth2Settings(config);
  const connect = oauth2 ? new ConsoleConnectOrigins(oauth2.issuer) : null;
  fastify.get('/console/config.json', (_request, reply) => {
    void reply.header('cache-control', 'no-cache').send({ oauth2 });
  });
  // The router ignores trailing slashes, so this one route answers /console and /console/ (a redirect between the two
  // would loop); the page names its assets by absolute path, which holds from either.
  fastify.get('/console', async (_request, reply) => {
    const page = await readFile(path.join(CONSOLE_ASSETS, 'index.html')).catch(() => null);
    if (!page) return reply.code(404).type('text/plain').send('The console is not built: run npm run build');
    const csp = reply.raw.getHeader('content-security-policy');
    if (connect && typeof csp === 'string') {
      // On the page only: a document's CSP governs what it fetches; API responses keep helmet's policy.
      void reply.header('content-security-policy', withConnectSources(csp, await connect.origins()));
    }
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page);
  });
  void fastify.register(fastifyStatic, {
    root: CONSOLE_ASSETS,
    prefix: '/console/',
    decorateReply: false,
    index: false,
    // The bundle's names carry no hash: revalidate each load (ETag) so an upgraded gateway serves the new console.
    cacheControl: false,
    setHeaders: (reply: FastifyReply) => {
      reply.header('cache-control', 'no-cache');
    },
  });
}
