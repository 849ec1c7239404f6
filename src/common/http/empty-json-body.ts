/**
 * Route config flag (`@RouteConfig({ [EMPTY_JSON_BODY_IS_EMPTY_OBJECT]: true })`): an `application/json` request with
 * an empty body reads as no body instead of Fastify's 400, for routes whose whole body is optional (a tool call
 * without arguments, as `curl -H 'Content-Type: application/json' -X POST` sends it). The JSON parser of
 * src/bootstrap/fastify-adapter.ts reads it.
 */
export const EMPTY_JSON_BODY_IS_EMPTY_OBJECT = 'emptyJsonBodyIsEmptyObject';
