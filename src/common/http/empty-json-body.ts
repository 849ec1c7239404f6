/**
 * Route config flag (`@RouteConfig({ [EMPTY_JSON_BODY_IS_EMPTY_OBJECT]: true })`): an `application/json` request with
 * an empty body reads as no body instead of Fastify's 400, for routes whose whole body is optional (a tool call
 * without arguments, as `curl -H 'Content-Type: application/json' -X POST` sends it). The JSON parser of
 * src/bootstrap/fastify-adapter.ts reads it. Routes that take no body at all need no flag: an empty body with any
 * content type is no body there (src/bootstrap/bodyless-routes.ts finds them from their parameters).
 */
export const EMPTY_JSON_BODY_IS_EMPTY_OBJECT = 'emptyJsonBodyIsEmptyObject';
