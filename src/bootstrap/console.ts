import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { APP_ROOT } from 'src/common/app-root';

/** Where `npm run build` (console/build.mjs) writes the web console's bundle. */
export const CONSOLE_ASSETS = path.join(APP_ROOT, 'dist', 'console');

/**
 * The web console at /console: static files (public, like Swagger UI, outside Nest's guards), same origin as the
 * API, so the calls it makes carry the caller's credential and go through the guard like any other client's. No
 * build happens at run time: without a built bundle the page answers 404.
 */
export function mountConsole(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  // The router ignores trailing slashes, so this one route answers /console and /console/ (a redirect between the two
  // would loop); the page names its assets by absolute path, which holds from either.
  fastify.get('/console', async (_request, reply) => {
    const page = await readFile(path.join(CONSOLE_ASSETS, 'index.html')).catch(() => null);
    if (!page) return reply.code(404).type('text/plain').send('The console is not built: run npm run build');
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
