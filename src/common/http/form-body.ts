/**
 * Route config flag (`@RouteConfig({ [FORM_BODY]: true })`): the route also takes an HTML form's body
 * (`application/x-www-form-urlencoded`), read as an object of its fields (the last of a repeated field wins). The API
 * otherwise speaks JSON only (415 for a form): this is for the few pages a browser submits without script (the
 * confirmation of an `oauth-user` connection link, ADR 0011). The catch-all parser of src/bootstrap/fastify-adapter.ts
 * reads it.
 */
export const FORM_BODY = 'formBody';
