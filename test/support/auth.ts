/**
 * Credentials of the e2e tests. The admin key is what `startTestGateway` passes as GLOBALMCP_ADMIN_API_KEY
 * (and what the built-gateway tests put in the child's environment), so every test can call the API as admin.
 */
export const TEST_ADMIN_KEY = 'gmcp_test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz';

/** `{ 'X-API-Key': TEST_ADMIN_KEY }`, for fetch calls to a gateway started with TEST_ADMIN_KEY. */
export const ADMIN_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'X-API-Key': TEST_ADMIN_KEY });
