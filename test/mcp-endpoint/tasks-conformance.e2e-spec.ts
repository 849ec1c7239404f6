import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEST_ADMIN_KEY } from '../support/auth';
import { REPO } from '../support/paths';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitForTools } from './upstreams';

const FIXTURE = path.join(REPO, 'test/fixtures/servers/tasks-upstream.js');
const RUNNER = path.join(REPO, 'test/mcp-endpoint/stateless-2026.conformance.mjs');

/** The suite's Tasks extension scenarios (SEP-2663; extension scenarios, not scored by the requirement sets). */
const TASK_SCENARIOS = [
  'tasks-capability-negotiation',
  'tasks-dispatch-and-envelope',
  'tasks-lifecycle',
  'tasks-mrtr-composition',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-request-state-removal',
  'tasks-required-task-error',
  'tasks-status-notifications',
  'tasks-wire-fields',
];

/**
 * The official conformance suite's Tasks scenarios through `/mcp/tasks` in front of a 2025-era stdio upstream whose
 * tools carry the task hints the suite describes (test/fixtures/servers/tasks-upstream.js): every one passes,
 * including the two whose tasks wait for the client's input (`tasks-mrtr-input`: an `input_required` task answered by
 * `tasks/update`; `tasks-mrtr-composition`: input-required rounds, then the task).
 */
describe('the conformance suite Tasks scenarios through /mcp/tasks', () => {
  let db: TestDatabase;
  let gateway: TestGateway;

  beforeAll(async () => {
    db = await createTestDatabase('mcp_tasks_conformance');
    gateway = await startTestGateway({
      databaseUrl: db.url,
      yaml:
        // A long synchronous window: a required tool's question must come within it even on a loaded machine.
        `mcp:\n  client:\n    default-timeout: 10s\n  endpoint:\n    task-sync-window: 5s\n` +
        `  servers:\n    tasks:\n      type: stdio\n      command: node\n` +
        `      args: ["${FIXTURE}"]\n      pool-size: 4\n`,
    });
    await waitForTools(gateway.addresses.api, ['tasks']);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('passes every Tasks scenario', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        RUNNER,
        ...['--gateway', gateway.addresses.api, '--server', 'tasks'],
        ...TASK_SCENARIOS.flatMap((name) => ['--scenario', name]),
      ],
      { env: { ...process.env, GLOBALMCP_ADMIN_API_KEY: TEST_ADMIN_KEY }, timeout: 180_000, maxBuffer: 1 << 24 },
    );
    const lines = stdout.split('\n').filter((l) => /^(PASS|FAIL) tasks-/.test(l));
    process.stdout.write(`${lines.join('\n')}\n`);
    const passed = lines.filter((l) => l.startsWith('PASS')).map((l) => l.split(' ')[1]);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(passed.sort()).toEqual(TASK_SCENARIOS);
  }, 200_000);
});
