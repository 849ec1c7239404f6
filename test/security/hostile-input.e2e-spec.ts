import path from 'node:path';
import { Client } from 'pg';
import { UnsecuredJWT } from 'jose';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait';
import { signHs256, TestIssuer } from './test-issuer';

/**
 * For every operation of the live OpenAPI document, requests an attacker (holding an admin credential) could
 * send: hostile path ids, broken and oversized bodies, deep JSON, wrong types, unknown fields and query keys.
 * Every answer must be a 4xx with the error envelope and no stack trace, and no table may gain or lose rows.
 */

const TOOLBOX = path.resolve(__dirname, '..', 'fixtures/servers/cancel-recorder-server.js');
const MAX_REQUEST_SIZE = 64 * 1024;
const JWT_SECRET = 'hostile-suite-hs256-secret-0123456789abcdef';
const AUDIENCE = 'globalmcp-hostile';
const DEPTH = 10_000;

interface Schema {
  type?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  minItems?: number;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

interface Probe {
  label: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

const HOSTILE_IDS: Record<string, string> = {
  'sql quote': "' OR '1'='1",
  'sql statement': '1; DROP TABLE api_keys;--',
  'path traversal': '../../../../etc/passwd',
  'encoded traversal': '..%2F..%2Fetc%2Fpasswd',
  unicode: 'ünï©ødé-😀-\u202e-\ufeff-\u0301',
  'control chars': 'a\u0000b\u0001\u001b[31m\r\nX-Injected: 1',
  'very long': 'x'.repeat(2_000),
  'long within router limit': 'y'.repeat(400),
  'nil uuid': '00000000-0000-0000-0000-000000000000',
  'json-ish': '{"$ne":null}',
};

/** Path segments sent raw (not encoded): malformed percent-encoding and NUL. Dot segments are left out: the
 * WHATWG URL of fetch resolves `..` and `%2E%2E` before sending, so the server would never see them. */
const RAW_IDS: Record<string, string> = {
  'malformed percent-encoding': '%E0%A4%A',
  'encoded NUL': '%00',
  'lone percent': '%',
};

/** Operations open to any valid credential whatever its scopes (still 401 without one): the caller's own principal. */
const ANY_VALID_CREDENTIAL = new Set(['GET /api/auth/me']);

describe('hostile input on every route of the OpenAPI document', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let doc: OpenApi;
  let pg: Client;
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await TestIssuer.start();
    await issuer.addKey('rsa-1', 'RS256');
    db = await createTestDatabase('security_hostile');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        `server:\n  max-request-size: ${MAX_REQUEST_SIZE}\n` +
        `mcp:\n  security:\n    jwt:\n      secret: ${JWT_SECRET}\n` +
        `  servers:\n    alpha:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n` +
        `spring:\n  security:\n    oauth2:\n      resourceserver:\n        jwt:\n` +
        `          issuer-uri: ${issuer.issuer}\n          audiences: [${AUDIENCE}]\n`,
    });
    doc = (await (await fetch(`${gateway.addresses.api}/v3/api-docs`)).json()) as OpenApi;
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    await pg?.end();
    await gateway?.stop();
    await db?.drop();
    await issuer?.close();
  });

  const resolve = (schema: Schema | undefined): Schema | undefined => {
    if (!schema) return undefined;
    if (schema.$ref) return resolve(doc.components?.schemas?.[schema.$ref.split('/').pop()!]);
    if (schema.allOf?.length === 1) return resolve(schema.allOf[0]);
    return schema;
  };

  /** A value of the schema's type (the first enum value, the minimum...): the required properties only. */
  const sample = (raw: Schema | undefined, depth = 0): unknown => {
    const schema = resolve(raw);
    if (!schema || depth > 5) return 'x';
    if (schema.enum?.length) return schema.enum[0];
    if (schema.oneOf?.length || schema.anyOf?.length) return sample((schema.oneOf ?? schema.anyOf)![0], depth + 1);
    switch (schema.type) {
      case 'integer':
      case 'number':
        return schema.minimum ?? 1;
      case 'boolean':
        return true;
      case 'array':
        return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items, depth + 1));
      case 'object':
        return Object.fromEntries((schema.required ?? []).map((k) => [k, sample(schema.properties?.[k], depth + 1)]));
      case undefined:
      default:
        return schema.format === 'uri' ? 'http://example.invalid/' : 'hostile-sample';
    }
  };

  const wrongTyped = (raw: Schema | undefined): unknown => {
    const schema = resolve(raw);
    if (schema?.enum) return { not: 'an enum value' };
    switch (schema?.type) {
      case 'string':
        return 12345;
      case 'integer':
      case 'number':
        return 'not-a-number';
      case 'boolean':
        return 'yes';
      case 'array':
        return { not: 'an array' };
      case 'object':
        return [1, 2, 3];
      case undefined:
      default:
        return [[{ $gt: '' }]];
    }
  };

  const nested = (depth: number, open: string, close: string, inner = '1') =>
    open.repeat(depth) + inner + close.repeat(depth);

  /** Every hostile request for one operation. */
  const probesFor = (method: string, template: string, operation: Operation): Probe[] => {
    const params = operation.parameters ?? [];
    const pathParams = params.filter((p) => p.in === 'path');
    const queryParams = params.filter((p) => p.in === 'query');
    const fill = (value: string, encode = true) =>
      template.replace(/\{([^}]+)\}/g, () => (encode ? encodeURIComponent(value) : value));
    const benign = fill('hostile-probe');
    const bodySchema = resolve(operation.requestBody?.content?.['application/json']?.schema);
    const validBody = bodySchema ? sample(bodySchema) : undefined;
    const json = (body: unknown) => JSON.stringify(body);
    const withBody = (label: string, url: string, body: string, contentType = 'application/json'): Probe => ({
      label,
      method,
      url,
      headers: { 'content-type': contentType },
      body,
    });
    const probes: Probe[] = [];

    for (const [label, value] of Object.entries(HOSTILE_IDS)) {
      if (pathParams.length === 0) break;
      const url = fill(value);
      probes.push(
        bodySchema ? withBody(`path: ${label}`, url, json(validBody)) : { label: `path: ${label}`, method, url },
      );
    }
    for (const [label, value] of Object.entries(RAW_IDS)) {
      if (pathParams.length === 0) break;
      probes.push({ label: `raw path: ${label}`, method, url: fill(value, false) });
    }

    if (queryParams.length > 0) {
      probes.push({ label: 'unknown query key', method, url: `${benign}?zz_unknown=1&__proto__[polluted]=1` });
      for (const q of queryParams) {
        const schema = resolve(q.schema);
        const bad: Record<string, string> = {
          sql: "' OR 1=1--",
          long: 'q'.repeat(5_000),
          control: '\u0000\u001b\r\n',
          'wrong type': schema?.type === 'integer' || schema?.type === 'number' ? 'NaN-ish' : '',
          'invalid enum': schema?.enum ? 'NOT_A_VALID_VALUE' : '',
          repeated: '',
        };
        for (const [label, value] of Object.entries(bad)) {
          if (label === 'repeated') {
            probes.push({
              label: `query ${q.name}: repeated`,
              method,
              url: `${benign}?${q.name}=1&${q.name}=2&zz_unknown=1`,
            });
          } else if (value) {
            // Paired with an unknown key so that even a harmless value makes the request invalid as a whole.
            const query = new URLSearchParams({ [q.name]: value, zz_unknown: '1' });
            probes.push({ label: `query ${q.name}: ${label}`, method, url: `${benign}?${query.toString()}` });
          }
        }
      }
    }

    if (bodySchema) {
      const props = bodySchema.properties ?? {};
      const base = (validBody ?? {}) as Record<string, unknown>;
      probes.push({ label: 'body: none', method, url: benign });
      if ((bodySchema.required ?? []).length > 0) probes.push(withBody('body: missing required fields', benign, '{}'));
      probes.push(
        withBody(
          'body: every field wrong-typed',
          benign,
          json(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, wrongTyped(s)]))),
        ),
      );
      for (const [k, s] of Object.entries(props)) {
        probes.push(withBody(`body: ${k} wrong-typed`, benign, json({ ...base, [k]: wrongTyped(s) })));
        const schema = resolve(s);
        if (schema?.enum || resolve(schema?.items)?.enum) {
          const value = schema?.type === 'array' ? ['NOT_A_VALID_VALUE'] : 'NOT_A_VALID_VALUE';
          probes.push(withBody(`body: ${k} invalid enum`, benign, json({ ...base, [k]: value })));
        }
      }
      probes.push(withBody('body: unknown field', benign, json({ ...base, zz_unknown_field: true })));
      probes.push(
        withBody('body: __proto__ field', benign, `{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}`),
      );
      probes.push(withBody('body: deep array', benign, nested(DEPTH, '[', ']')));
      probes.push(withBody('body: deep object', benign, nested(DEPTH, '{"a":', '}')));
      const first = Object.keys(props)[0] ?? 'a';
      probes.push(withBody('body: deep field', benign, `{"${first}":${nested(DEPTH, '[', ']')}}`));
      probes.push(
        withBody('body: over the size limit', benign, json({ ...base, pad: 'p'.repeat(MAX_REQUEST_SIZE + 1) })),
      );
      probes.push(withBody('body: malformed JSON', benign, '{"a":'));
      probes.push(withBody('body: top-level null', benign, 'null'));
      probes.push(withBody('body: top-level array', benign, '[]'));
      probes.push(withBody('body: top-level string', benign, '"hostile"'));
      probes.push(withBody('body: text/plain', benign, 'hello', 'text/plain'));
      probes.push(
        withBody('body: unicode and control chars', benign, json({ ...base, [first]: HOSTILE_IDS['control chars'] })),
      );
    }
    return probes;
  };

  const rowCounts = async (): Promise<Record<string, number>> => {
    const tables = await pg.query<{ schemaname: string; relname: string }>(
      "SELECT schemaname, relname FROM pg_stat_user_tables WHERE relname <> 'migrations' ORDER BY 1, 2",
    );
    const counts: Record<string, number> = {};
    for (const { schemaname, relname } of tables.rows) {
      const name = `${pg.escapeIdentifier(schemaname)}.${pg.escapeIdentifier(relname)}`;
      counts[`${schemaname}.${relname}`] = Number(
        (await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n,
      );
    }
    return counts;
  };

  it('answers every hostile request with a 4xx envelope, no stack trace, and writes nothing', async () => {
    const operations = Object.entries(doc.paths).flatMap(([template, methods]) =>
      Object.entries(methods)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ method: method.toUpperCase(), template, operation })),
    );
    expect(operations.length).toBeGreaterThan(10);
    expect(operations.map((o) => `${o.method} ${o.template}`)).toEqual(
      expect.arrayContaining(['POST /api/api-keys', 'DELETE /api/api-keys/{id}']),
    );

    const before = await rowCounts();
    expect(Object.keys(before)).toContain('public.api_keys');
    const problems: string[] = [];
    let sent = 0;
    for (const { method, template, operation } of operations) {
      const probes = probesFor(method, template, operation);
      const results = await Promise.all(
        probes.map(async (probe) => {
          const res = await fetch(`${gateway.addresses.api}${probe.url}`, {
            method: probe.method,
            headers: { ...ADMIN_HEADERS, ...probe.headers },
            body: probe.body,
            signal: AbortSignal.timeout(10_000),
          });
          return { probe, status: res.status, requestId: res.headers.get('x-request-id'), text: await res.text() };
        }),
      );
      sent += results.length;
      for (const { probe, status, requestId, text } of results) {
        const where = `${method} ${template} [${probe.label}] -> ${status}`;
        if (status < 400 || status >= 500) problems.push(`${where}: not a 4xx: ${text.slice(0, 300)}`);
        let body: { error?: { code?: unknown; request_id?: unknown } } | undefined;
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          problems.push(`${where}: not JSON: ${text.slice(0, 200)}`);
          continue;
        }
        if (typeof body?.error?.code !== 'string') problems.push(`${where}: no error.code: ${text.slice(0, 200)}`);
        if (body?.error?.request_id !== requestId)
          problems.push(`${where}: request_id ${String(body?.error?.request_id)} != header ${requestId}`);
        if (/\bat .*\.(ts|js):\d+|\.(ts|js):\d+:\d+|node_modules/.test(text))
          problems.push(`${where}: stack trace: ${text.slice(0, 300)}`);
      }
    }
    const after = await rowCounts();

    expect(problems).toEqual([]);
    expect(after).toEqual(before);
    expect(sent).toBeGreaterThan(100);
  }, 60_000);

  /** Scopes an operation needs: the list under its OAuth2 requirement (the same for every scheme). */
  const requiredScopes = (operation: Operation): string[] =>
    operation.security?.find((r) => 'oauth2' in r)?.oauth2 ?? [];

  it('gives every protected operation the right 401/403 for each bad credential (auth matrix)', async () => {
    const operations = Object.entries(doc.paths).flatMap(([template, methods]) =>
      Object.entries(methods)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, operation]) => ({ method: method.toUpperCase(), template, operation })),
    );
    const protectedOps = operations.filter((o) => (o.operation.security ?? []).length > 0);
    expect(protectedOps.length).toBeGreaterThan(10);

    const createKey = async (body: Record<string, unknown>) => {
      const res = await fetch(`${gateway.addresses.api}/api/api-keys`, {
        method: 'POST',
        headers: { ...ADMIN_HEADERS, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; key: string };
    };
    const readKey = (await createKey({ name: 'matrix-read', scopes: ['mcp:read'] })).key;
    const writeKey = (await createKey({ name: 'matrix-write', scopes: ['mcp:write'] })).key;
    const tenantKey = (await createKey({ name: 'matrix-tenant', scopes: ['mcp:admin'], server_ids: ['alpha'] })).key;
    const revoked = await createKey({ name: 'matrix-revoked', scopes: ['mcp:admin'] });
    expect(
      (await fetch(`${gateway.addresses.api}/api/api-keys/${revoked.id}`, { method: 'DELETE', headers: ADMIN_HEADERS }))
        .status,
    ).toBeLessThan(300);
    const expiring = await createKey({
      name: 'matrix-expired',
      scopes: ['mcp:admin'],
      expires_at: new Date(Date.now() + 1500).toISOString(),
    });
    await waitFor(
      async () =>
        (await fetch(`${gateway.addresses.api}/api/servers`, { headers: { 'x-api-key': expiring.key } })).status ===
        401,
      15_000,
      'the short-lived key to expire',
    );

    const admin = { scope: 'mcp:admin' };
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const unauthenticated: Record<string, Record<string, string>> = {
      'no credential': {},
      'unknown API key': { 'x-api-key': 'gmcp_unknown-key-0123456789abcdefghijklmnop' },
      'revoked API key': { 'x-api-key': revoked.key },
      'expired API key': { 'x-api-key': expiring.key },
      'expired token': bearer(await signHs256(JWT_SECRET, admin, { expiresIn: -3600 })),
      'not-yet-valid token': bearer(await signHs256(JWT_SECRET, admin, { notBefore: 3600 })),
      'token of another secret': bearer(await signHs256('another-secret-0123456789abcdef-0123456789', admin)),
      'alg none': bearer(
        new UnsecuredJWT({ ...admin, sub: 'x', iss: issuer.issuer, aud: AUDIENCE })
          .setIssuedAt()
          .setExpirationTime('5m')
          .encode(),
      ),
      'wrong issuer': bearer(await issuer.sign(admin, { audience: AUDIENCE, issuer: 'https://evil.example' })),
      'wrong audience': bearer(await issuer.sign(admin, { audience: 'someone-else' })),
      'algorithm confusion': bearer(
        await signHs256(await issuer.publicKeyPem('rsa-1'), admin, { audience: AUDIENCE }, issuer.issuer),
      ),
    };
    // The credentials above are refused before anything else; a valid token proves the matrix is not vacuous.
    const valid = await issuer.sign(admin, { audience: AUDIENCE });
    expect((await fetch(`${gateway.addresses.api}/api/servers`, { headers: bearer(valid) })).status).toBe(200);

    const problems: string[] = [];
    const expectAnswer = async (
      where: string,
      url: string,
      method: string,
      headers: Record<string, string>,
      status: number,
    ) => {
      const res = await fetch(`${gateway.addresses.api}${url}`, {
        method,
        headers,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      const code = status === 401 ? 'AUTHENTICATION_FAILED' : 'AUTHORIZATION_DENIED';
      if (res.status !== status || !text.includes(`"code":"${code}"`))
        problems.push(`${where}: ${res.status} (want ${status} ${code}): ${text.slice(0, 200)}`);
      if (status === 401 && !res.headers.get('www-authenticate')) problems.push(`${where}: no WWW-Authenticate`);
    };

    let sent = 0;
    let tenantChecks = 0;
    for (const { method, template, operation } of protectedOps) {
      const url = template.replace(/\{[^}]+\}/g, 'alpha');
      const checks: Array<Promise<void>> = [];
      for (const [label, headers] of Object.entries(unauthenticated)) {
        checks.push(expectAnswer(`${method} ${template} [${label}]`, url, method, headers, 401));
      }
      // A credential that lacks one of the operation's scopes (mcp:write does not imply mcp:read); the few operations
      // any valid credential may call (who am I) must say so by requiring none.
      const scopes = requiredScopes(operation);
      const op = `${method} ${template}`;
      expect({ op, scopes: scopes.length > 0 }).toEqual({ op, scopes: !ANY_VALID_CREDENTIAL.has(op) });
      if (scopes.length > 0) {
        const lacking = scopes.includes('mcp:admin') || scopes.includes('mcp:write') ? readKey : writeKey;
        checks.push(expectAnswer(`${op} [missing scope]`, url, method, { 'x-api-key': lacking }, 403));
      }
      // Another tenant's server: a key limited to alpha asking for another server, by path or by query.
      const serverParam = template.startsWith('/api/servers/{')
        ? template.match(/\{([^}]+)\}/)![1]
        : /\{(serverId|server_id)\}/.exec(template)?.[1];
      const other = serverParam
        ? template.replace(`{${serverParam}}`, 'not-my-server').replace(/\{[^}]+\}/g, 'x')
        : operation.parameters?.some((p) => p.in === 'query' && p.name === 'server_id')
          ? `${url}?server_id=not-my-server`
          : undefined;
      if (other) {
        tenantChecks++;
        checks.push(
          expectAnswer(`${method} ${template} [other tenant]`, other, method, { 'x-api-key': tenantKey }, 403),
        );
      }
      await Promise.all(checks);
      sent += checks.length;
    }
    expect(problems).toEqual([]);
    expect(sent).toBeGreaterThan(protectedOps.length * 12);
    expect(tenantChecks).toBeGreaterThan(5);
  }, 120_000);
});
