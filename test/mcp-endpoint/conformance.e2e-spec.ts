import path from 'node:path';
import { TEST_ADMIN_KEY } from '../support/auth';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { runConformance, type Tally } from './conformance-run';
import { waitForTools } from './upstreams';

const FIXTURE = path.join(REPO, 'test/fixtures/servers/conformance-2025.js');

/** Scored scenarios of both revisions that the gateway passes in front of the 2025-era fixture. */
const PASSING_BOTH = [
  'completion-complete',
  'dns-rebinding-protection',
  'prompts-get-embedded-resource',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-with-image',
  'prompts-list',
  'resources-list',
  'resources-read-binary',
  'resources-read-text',
  'resources-templates-read',
  'server-sse-multiple-streams',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-error',
  'tools-call-image',
  'tools-call-mixed-content',
  'tools-call-simple-text',
  'tools-call-with-progress',
  'tools-list',
];

/** 2026-07-28: 35 of the 37 scored scenarios (measured 2026-12-07, with input-required relaying). */
const PASSING_2026 = [
  ...PASSING_BOTH,
  'caching',
  'input-required-result-basic-list-roots',
  'input-required-result-basic-sampling',
  'input-required-result-capability-check',
  'input-required-result-ignore-extra-params',
  'input-required-result-missing-input-response',
  'input-required-result-multi-round',
  'input-required-result-multiple-input-requests',
  'input-required-result-non-tool-request',
  'input-required-result-request-state',
  'input-required-result-result-type',
  'input-required-result-tampered-state',
  'input-required-result-unsupported-methods',
  'input-required-result-validate-input',
  'sep-2164-resource-not-found',
].sort();

/**
 * The 2 that fail, and why (docs/mcp-endpoint.md):
 * - basic-elicitation checks that the `inputRequests` key is `user_name`, a name a server written for 2026-07-28
 *   picks; the gateway relays a 2025 upstream's `elicitation/create`, which has no key, and names it itself
 *   (`elicitation-1`). The round trip itself completes (the same tool passes request-state and ignore-extra-params).
 * - server-stateless wants -32021 for `test_missing_capability` from a client that declared no capability; the
 *   gateway refuses the upstream's sampling request to the upstream (as on the 2025 path) and answers the upstream's
 *   own result, since a client that declared none of sampling/elicitation/roots gets no connection of its own and
 *   the gateway cannot tell whose call an upstream request belongs to on a shared one (ADR 0003).
 */
const NOT_PASSING_2026 = ['input-required-result-basic-elicitation', 'server-stateless'];

/** 2025-11-25: all 30 scored scenarios. */
const PASSING_2025 = [
  ...PASSING_BOTH,
  'elicitation-sep1034-defaults',
  'elicitation-sep1330-enums',
  'logging-set-level',
  'ping',
  'resources-subscribe',
  'resources-unsubscribe',
  'server-initialize',
  'tools-call-elicitation',
  'tools-call-sampling',
  'tools-call-with-logging',
].sort();

/**
 * The official conformance suite (`@modelcontextprotocol/conformance`, server scenarios) through `/mcp/conformance`
 * in front of a 2025-era stdio upstream that offers what the suite calls (test/fixtures/servers/conformance-2025.js).
 * The runner puts a loopback proxy adding the credential in front and runs the suite under Node 22.
 */
describe('the MCP conformance suite through /mcp/{server_id} in front of a 2025-era stdio upstream', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_conformance');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      // Several scenarios stop after the first input_required (they check only its shape): each such call holds a
      // pooled connection until its round expires (mcp.client.default-timeout), so rounds are short and the pool is 4.
      yaml:
        `mcp:\n  client:\n    default-timeout: 5s\n  servers:\n    conformance:\n      type: stdio\n      command: node\n` +
        `      args: ["${FIXTURE}"]\n      pool-size: 4\n  endpoint:\n    sse-poll-after: 1s\n`,
    });
    await waitForTools(gateway.addresses.api, ['conformance']);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  /** Runs one requirement set; scored scenarios only (the runner marks the others "(not scored)"). */
  const run = (requirements: string): Promise<Tally> =>
    runConformance({ base: gateway.addresses.api, server: 'conformance', requirements, key: TEST_ADMIN_KEY });

  it('passes the 2026-07-28 set but for the two scenarios a 2025 upstream behind a gateway cannot meet', async () => {
    const tally = await run('2026-07-28');
    expect({ passed: tally.passed, failed: [...tally.failed.keys()].sort() }).toEqual({
      passed: PASSING_2026,
      failed: [...NOT_PASSING_2026].sort(),
    });
  }, 160_000);

  it('closes the event stream of a long call and replays what the client missed on GET with Last-Event-ID', async () => {
    const url = `${gateway.addresses.api}/mcp/conformance`;
    const headers = {
      ...gateway.authHeaders,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    };
    const post = (body: object, session?: string) =>
      fetch(url, {
        method: 'POST',
        headers: { ...headers, ...(session ? { 'mcp-session-id': session } : {}) },
        body: JSON.stringify(body),
      });
    const init = await post({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: { sampling: {} },
        clientInfo: { name: 'e2e', version: '1' },
      },
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).text();

    // test_reconnection answers after 1.5 s; the gateway closes the stream after 1 s (sse-poll-after).
    const call = await post(
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'test_reconnection' } },
      session,
    );
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    const first = await call.text();
    expect(first).toMatch(/^id: \S+\nretry: 1000\ndata: \n/);
    expect(first).not.toContain('"result"');
    const lastEventId = /^id: (\S+)$/m.exec(first)![1]!;

    await new Promise((resolve) => setTimeout(resolve, 1000)); // the answer arrives while nobody listens
    const resumed = await fetch(url, {
      headers: { ...headers, 'mcp-session-id': session, 'last-event-id': lastEventId },
    });
    expect(resumed.status).toBe(200);
    const replay = await resumed.text();
    const result = /^data: (.*"id":7.*)$/m.exec(replay)?.[1];
    expect(JSON.parse(result!)).toMatchObject({
      id: 7,
      result: { content: [{ text: expect.stringContaining('Reconnection') }] },
    });

    // Another session cannot read this stream.
    const other = await fetch(url, { headers: { ...headers, 'last-event-id': lastEventId, 'mcp-session-id': 'x' } });
    expect(other.status).toBeGreaterThanOrEqual(400);
  }, 30_000);

  it('passes the whole 2025-11-25 set through the gateway', async () => {
    const tally = await run('2025-11-25');
    expect(tally.failed).toEqual(new Map());
    expect(tally.passed).toEqual(PASSING_2025);
    // Run but not scored (pending in the suite's reference fixture): the SSE polling scenario must pass here too.
    expect(tally.output).toMatch(/^PASS server-sse-polling \(not scored\)$/m);
  }, 160_000);
});
