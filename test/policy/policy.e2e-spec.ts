import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { DataSource } from 'typeorm';
import { ADMIN_HEADERS } from '../support/auth';
import { EVERYTHING } from '../support/paths';
import { signHs256 } from '../security/test-issuer';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor, waitForTools } from '../support/wait';

const SECRET = 'an-hs256-secret-of-more-than-32-bytes-for-policy-tests';
const SERVER = 'everything';

/** Tools of server-everything the matrix looks at, with arguments that make an allowed call succeed. */
const TOOLS: Record<string, Record<string, unknown>> = {
  echo: { message: 'hi' }, // readOnlyHint: true
  'get-sum': { a: 1, b: 2 }, // readOnlyHint: true
  'get-env': {}, // readOnlyHint: true
  'toggle-simulated-logging': {}, // readOnlyHint: false
  'toggle-subscriber-updates': {}, // readOnlyHint: false
  'gzip-file-as-resource': {}, // readOnlyHint: false
};

/** The rules of the configuration file: one per kind of condition. */
const POLICY_YAML = `  policy:
    rules:
      - id: no-gzip
        effect: deny
        server: ${SERVER}
        tool: gzip-*
      - id: toggles-for-admins
        effect: deny
        tool: toggle-simulated-*
        unless:
          scopes: [mcp:admin]
      - id: free-tier-no-env
        effect: deny
        tool: get-env
        when:
          tiers: [free]
      - id: contractors-read-only
        effect: deny
        when:
          claims:
            groups: contractors
        unless:
          annotations:
            readOnlyHint: true
`;

type Headers = Record<string, string>;
interface Answer {
  status: number;
  body: any;
}

describe('tool-level policy', () => {
  let db: TestDatabase;
  let gateway: TestGateway;
  let replica: TestGateway;
  let api: string;
  const clients: Client[] = [];
  /** Principal name -> request headers. */
  const callers: Record<string, Headers> = {};
  let proKeyId: string;

  const call = async (base: string, method: string, path: string, headers: Headers, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined } as Answer;
  };
  const createKey = async (name: string, scopes: string[], tier?: string) => {
    const created = await call(api, 'POST', '/api/api-keys', ADMIN_HEADERS, {
      name,
      scopes,
      ...(tier ? { tier } : {}),
    });
    expect(created.status).toBe(201);
    return created.body as { id: string; key: string };
  };
  const bearer = async (subject: string, groups: string[]) => ({
    authorization: `Bearer ${await signHs256(SECRET, { scope: 'mcp:read mcp:write', groups }, { subject })}`,
  });

  beforeAll(async () => {
    db = await createTestDatabase('policy');
    const yaml = `mcp:
  client:
    default-timeout: 15000
  security:
    jwt:
      secret: ${SECRET}
  servers:
    ${SERVER}:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
${POLICY_YAML}`;
    gateway = await startTestGateway({ databaseUrl: db.url, yaml });
    replica = await startTestGateway({ databaseUrl: db.url, yaml });
    api = gateway.addresses.api;
    await waitForTools(api, SERVER, ADMIN_HEADERS);
    await waitForTools(replica.addresses.api, SERVER, ADMIN_HEADERS);

    callers.admin = ADMIN_HEADERS as Headers;
    const pro = await createKey('pro', ['mcp:read', 'mcp:write'], 'pro');
    proKeyId = pro.id;
    callers.pro = { 'X-API-Key': pro.key };
    callers.free = { 'X-API-Key': (await createKey('free', ['mcp:read', 'mcp:write'], 'free')).key };
    callers.contractor = await bearer('carol', ['contractors']);
    callers.staff = await bearer('sam', ['staff', 'admins-of-nothing']);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await replica?.stop();
    await gateway?.stop();
    await db?.drop();
  });

  /** What the rules say, written out by hand: the tools each principal must not see nor call. */
  const DENIED: Record<string, Record<string, string>> = {
    admin: { 'gzip-file-as-resource': 'no-gzip' },
    pro: { 'gzip-file-as-resource': 'no-gzip', 'toggle-simulated-logging': 'toggles-for-admins' },
    free: {
      'gzip-file-as-resource': 'no-gzip',
      'toggle-simulated-logging': 'toggles-for-admins',
      'get-env': 'free-tier-no-env',
    },
    contractor: {
      'gzip-file-as-resource': 'no-gzip',
      'toggle-simulated-logging': 'toggles-for-admins',
      'toggle-subscriber-updates': 'contractors-read-only',
    },
    staff: { 'gzip-file-as-resource': 'no-gzip', 'toggle-simulated-logging': 'toggles-for-admins' },
  };

  /** The tools of TOOLS each entry point shows the principal, and the rule each call is refused by. */
  async function observe(base: string, who: string) {
    const headers = callers[who]!;
    const restList = await call(base, 'GET', `/api/tools?server_id=${SERVER}`, headers);
    expect(restList.status).toBe(200);
    const listedRest = new Set((restList.body.tools as { name: string }[]).map((t) => t.name));

    const doc = await call(base, 'GET', '/v3/api-docs', headers);
    expect(doc.status).toBe(200);
    const inDocument = new Set(
      Object.keys(doc.body.paths as object)
        .filter((p) => p.startsWith(`/api/servers/${SERVER}/tools/`) && !p.includes('{'))
        .map((p) => p.slice(`/api/servers/${SERVER}/tools/`.length)),
    );

    const client = new Client({ name: `policy-${who}`, version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } }));
    clients.push(client);
    const listedMcp = new Set(
      (await client.listTools()).tools
        .map((t) => t.name)
        .filter((n) => n.startsWith(`${SERVER}__`))
        .map((n) => n.slice(`${SERVER}__`.length)),
    );

    const restCall: Record<string, string | null> = {};
    const mcpCall: Record<string, string | null> = {};
    const jobCall: Record<string, string | null> = {};
    for (const [tool, args] of Object.entries(TOOLS)) {
      const rest = await call(base, 'POST', `/api/servers/${SERVER}/tools/${tool}`, headers, args);
      restCall[tool] = rest.status === 403 ? (rest.body.error.details.rule as string) : null;
      if (rest.status !== 403) expect(rest.status).toBe(200);

      const job = await call(base, 'POST', `/api/servers/${SERVER}/tools/${tool}?mode=async`, headers, args);
      jobCall[tool] = job.status === 403 ? (job.body.error.details.rule as string) : null;
      if (job.status !== 403) expect(job.status).toBe(202);

      try {
        await client.callTool({ name: `${SERVER}__${tool}`, arguments: args });
        mcpCall[tool] = null;
      } catch (error) {
        expect(error).toBeInstanceOf(McpError);
        const data = (error as McpError).data as { code: string; details: { rule: string } };
        expect(data.code).toBe('AUTHORIZATION_DENIED');
        mcpCall[tool] = data.details.rule;
      }
    }
    const batch = await call(base, 'POST', '/api/tools/batch', headers, {
      executions: Object.entries(TOOLS).map(([tool, parameters], i) => ({
        execution_id: `s${i}`,
        tool_name: tool,
        server_id: SERVER,
        parameters,
      })),
    });
    expect(batch.status).toBe(200);
    const batchCall = Object.fromEntries(
      Object.keys(TOOLS).map((tool, i) => {
        const step = (batch.body.executions as { execution_id: string; status: string; error?: any }[]).find(
          (s) => s.execution_id === `s${i}`,
        )!;
        if (step.status === 'completed') return [tool, null];
        expect(step.error.code).toBe('AUTHORIZATION_DENIED');
        return [tool, /policy rule '([^']+)'/.exec(step.error.message)?.[1] ?? 'unnamed'];
      }),
    );
    return { listedRest, inDocument, listedMcp, restCall, mcpCall, jobCall, batchCall };
  }

  const expected = (who: string, overrides: Record<string, string> = {}) => {
    const denied = { ...DENIED[who], ...overrides };
    return Object.fromEntries(Object.keys(TOOLS).map((t) => [t, denied[t] ?? null]));
  };

  /** Every entry point agrees with the table: a tool is listed exactly when its call is not refused. */
  async function expectMatrix(base: string, who: string, overrides: Record<string, string> = {}) {
    const seen = await observe(base, who);
    const want = expected(who, overrides);
    const visible = Object.keys(TOOLS).filter((t) => want[t] === null);
    for (const list of [seen.listedRest, seen.inDocument, seen.listedMcp]) {
      expect(Object.keys(TOOLS).filter((t) => list.has(t))).toEqual(visible);
    }
    expect({ rest: seen.restCall, mcp: seen.mcpCall, job: seen.jobCall, batch: seen.batchCall }).toEqual({
      rest: want,
      mcp: want,
      job: want,
      batch: want,
    });
  }

  it.each(['admin', 'pro', 'free', 'contractor', 'staff'])(
    'shows %s the same tools on REST, OpenAPI and /mcp, and refuses exactly the others on every call path',
    async (who) => {
      await expectMatrix(api, who);
    },
    60_000,
  );

  it('hides a denied tool from GET /api/tools/{name} with the same 403, and records no denied call', async () => {
    const one = await call(api, 'GET', `/api/tools/gzip-file-as-resource?server_id=${SERVER}`, callers.pro!);
    expect(one.status).toBe(403);
    expect(one.body.error).toMatchObject({ code: 'AUTHORIZATION_DENIED', details: { rule: 'no-gzip' } });
    const dataSource = gateway.api.get(DataSource);
    const rows: unknown[] = await dataSource.query(
      `SELECT id FROM executions WHERE tool_name = 'gzip-file-as-resource'`,
    );
    expect(rows).toEqual([]);
  });

  it('counts denials by server and rule in mcp_policy_denials_total', async () => {
    const res = await fetch(`${gateway.addresses.management}/actuator/prometheus`, { headers: ADMIN_HEADERS });
    const text = await res.text();
    const count = (rule: string) =>
      Number(
        new RegExp(`^mcp_policy_denials_total\\{server="${SERVER}",rule="${rule}"\\} (\\d+)`, 'm').exec(text)?.[1],
      );
    expect(count('no-gzip')).toBeGreaterThan(0);
    expect(count('free-tier-no-env')).toBeGreaterThan(0);
  });

  describe('admin API', () => {
    const rulesPath = '/api/policy/rules';
    const storedIds = async () =>
      ((await gateway.api.get(DataSource).query(`SELECT id FROM policy_rules ORDER BY id`)) as { id: string }[]).map(
        (r) => r.id,
      );

    it('refuses an invalid pattern, an unknown effect or condition with 400, and stores nothing', async () => {
      const bad = [
        { id: 'bad-pattern', effect: 'deny', tool: 'delete_[' },
        { id: 'bad-effect', effect: 'maybe', tool: 'echo' },
        { id: 'bad-condition', effect: 'deny', when: { group: ['x'] } },
        { id: 'bad id', effect: 'deny' },
      ];
      for (const body of bad) {
        const answer = await call(api, 'POST', rulesPath, ADMIN_HEADERS, body);
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({
          status: 400,
          code: 'INVALID_PARAMETERS',
        });
      }
      const pattern = await call(api, 'POST', rulesPath, ADMIN_HEADERS, bad[0]);
      expect(pattern.body.error.details.fields).toEqual([
        { field: 'tool', problems: [expect.stringMatching(/name pattern/)] },
      ]);
      expect(await storedIds()).toEqual([]);
      const listed = await call(api, 'GET', rulesPath, ADMIN_HEADERS);
      expect((listed.body.rules as { id: string }[]).map((r) => r.id)).toEqual([
        'no-gzip',
        'toggles-for-admins',
        'free-tier-no-env',
        'contractors-read-only',
      ]);
    });

    it('refuses non-admins, and a change to a rule of the configuration file (409)', async () => {
      expect((await call(api, 'GET', rulesPath, callers.pro!)).status).toBe(403);
      expect((await call(api, 'DELETE', `${rulesPath}/no-gzip`, ADMIN_HEADERS)).status).toBe(409);
      expect((await call(api, 'POST', rulesPath, ADMIN_HEADERS, { id: 'no-gzip', effect: 'allow' })).status).toBe(409);
    });

    it('applies a rule added through the API on both replicas without a restart, and drops it on delete', async () => {
      const rule = { id: 'pro-no-sum', effect: 'deny', tool: 'get-sum', when: { api_keys: [proKeyId] } };
      const created = await call(api, 'POST', rulesPath, ADMIN_HEADERS, rule);
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ ...rule, server: '*', source: 'api' });
      expect((await call(api, 'POST', rulesPath, ADMIN_HEADERS, rule)).status).toBe(409);

      // The writing replica applies it before answering; the other on the NOTIFY.
      await expectMatrix(api, 'pro', { 'get-sum': 'pro-no-sum' });
      await waitFor(
        async () =>
          (
            await call(
              replica.addresses.api,
              'POST',
              `/api/servers/${SERVER}/tools/get-sum`,
              callers.pro!,
              TOOLS['get-sum'],
            )
          ).status === 403,
        10_000,
        'the rule on the second replica',
      );
      await expectMatrix(replica.addresses.api, 'pro', { 'get-sum': 'pro-no-sum' });
      await expectMatrix(replica.addresses.api, 'free');

      const explained = await call(
        api,
        'GET',
        `/api/policy/explain?tool=get-sum&server=${SERVER}&principal=${proKeyId}`,
        ADMIN_HEADERS,
      );
      expect(explained.status).toBe(200);
      expect(explained.body).toMatchObject({
        tool: 'get-sum',
        principal: { id: `key:${proKeyId}`, kind: 'api-key', tier: 'pro' },
        decisions: [
          { server_id: SERVER, effect: 'deny', rule: 'pro-no-sum', matched: ['pro-no-sum'], server_allowed: true },
        ],
      });

      const replaced = await call(api, 'PUT', `${rulesPath}/pro-no-sum`, ADMIN_HEADERS, { ...rule, tool: 'echo' });
      expect(replaced.status).toBe(200);
      await expectMatrix(api, 'pro', { echo: 'pro-no-sum' });

      expect((await call(api, 'DELETE', `${rulesPath}/pro-no-sum`, ADMIN_HEADERS)).status).toBe(200);
      expect(await storedIds()).toEqual([]);
      await waitFor(
        async () =>
          (await call(replica.addresses.api, 'POST', `/api/servers/${SERVER}/tools/echo`, callers.pro!, TOOLS.echo))
            .status === 200,
        10_000,
        'the deletion on the second replica',
      );
      await expectMatrix(replica.addresses.api, 'pro');
    }, 120_000);

    it('explains the default, a token holder by its claims, and the anonymous caller', async () => {
      const echo = await call(api, 'GET', `/api/policy/explain?tool=echo&principal=anonymous`, ADMIN_HEADERS);
      expect(echo.body.decisions).toEqual([
        { server_id: SERVER, effect: 'allow', rule: 'mcp.policy.default-effect', matched: [], server_allowed: true },
      ]);
      const contractor = await call(api, 'POST', '/api/policy/explain', ADMIN_HEADERS, {
        tool: 'toggle-simulated-logging',
        claims: { sub: 'carol', scope: 'mcp:write', groups: ['contractors'] },
      });
      expect(contractor.status).toBe(200);
      expect(contractor.body.decisions[0]).toMatchObject({
        effect: 'deny',
        rule: 'toggles-for-admins',
        matched: ['toggles-for-admins', 'contractors-read-only'],
      });
      expect((await call(api, 'GET', '/api/policy/explain?tool=nope', ADMIN_HEADERS)).status).toBe(404);
    });
  });
});
