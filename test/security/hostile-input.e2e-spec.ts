import path from 'node:path';
import { Client } from 'pg';
import { ADMIN_HEADERS } from '../support/auth';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

/**
 * For every operation of the live OpenAPI document, requests an attacker (holding an admin credential) could
 * send: hostile path ids, broken and oversized bodies, deep JSON, wrong types, unknown fields and query keys.
 * Every answer must be a 4xx with the error envelope and no stack trace, and no table may gain or lose rows.
 */

const TOOLBOX = path.resolve(__dirname, '..', 'fixtures/servers/cancel-recorder-server.js');
const MAX_REQUEST_SIZE = 64 * 1024;
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

describe('hostile input on every route of the OpenAPI document', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let doc: OpenApi;
  let pg: Client;

  beforeAll(async () => {
    db = await createTestDatabase('security_hostile');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml: `server:\n  max-request-size: ${MAX_REQUEST_SIZE}\nmcp:\n  servers:\n    alpha:\n      type: stdio\n      command: node\n      args: ["${TOOLBOX}"]\n`,
    });
    doc = (await (await fetch(`${gateway.addresses.api}/v3/api-docs`)).json()) as OpenApi;
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    await pg?.end();
    await gateway?.stop();
    await db?.drop();
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
    const started = Date.now();
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
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});
