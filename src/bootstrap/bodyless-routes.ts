import { type INestApplication, RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { ModulesContainer } from '@nestjs/core';

/** Parameter kinds through which a handler reads the request body (the whole request counts: it may). */
const BODY_READERS = new Set<number>([RouteParamtypes.BODY, RouteParamtypes.RAW_BODY, RouteParamtypes.REQUEST]);

/**
 * `METHOD /path` (Fastify's route url, e.g. `POST /api/executions/:id/cancel`) of every route whose handler takes no
 * body: no `@Body()`, `@RawBody()` or `@Req()` parameter, or a DELETE. Read from the controllers' Nest metadata once
 * the application is initialised, so a new route is classified by its own signature.
 */
export function bodylessRoutes(app: INestApplication): Set<string> {
  const routes = new Set<string>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (!controller) continue;
      const prototype = controller.prototype as Record<string, unknown>;
      const bases = pathsOf(Reflect.getMetadata(PATH_METADATA, controller));
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        const own = Reflect.getMetadata(PATH_METADATA, handler) as unknown;
        if (method === undefined || own === undefined) continue;
        const params = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, unknown>;
        const readsBody = Object.keys(params).some((key) => BODY_READERS.has(Number(key.split(':')[0])));
        if (readsBody && method !== RequestMethod.DELETE) continue;
        for (const base of bases)
          for (const path of pathsOf(own)) routes.add(`${RequestMethod[method]} ${join(base, path)}`);
      }
    }
  }
  return routes;
}

function pathsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return [typeof value === 'string' ? value : ''];
}

function join(base: string, path: string): string {
  const joined = `/${[base, path].filter((part) => part && part !== '/').join('/')}`;
  return joined.replace(/\/{2,}/g, '/');
}
