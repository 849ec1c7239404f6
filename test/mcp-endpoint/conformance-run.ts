import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../support/paths';

const RUNNER = path.join(REPO, 'test/mcp-endpoint/stateless-2026.conformance.mjs');

/** What one run of the official conformance suite (server scenarios) gave: scored scenarios only. */
export interface Tally {
  passed: string[];
  failed: Map<string, string>;
  output: string;
}

/**
 * Runs one requirement set of the suite through stateless-2026.conformance.mjs against `${base}/mcp/${server}` (the
 * runner's proxy adds `X-API-Key` when `key` is given) and parses its `PASS|FAIL name[: why]` lines; the scenarios
 * it marks "(not scored)" are left out of the tally (they stay in `output`).
 */
export async function runConformance(options: {
  base: string;
  server: string;
  requirements: string;
  key?: string;
}): Promise<Tally> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [RUNNER, '--gateway', options.base, '--server', options.server, '--requirements', options.requirements],
    { env: { ...process.env, GLOBALMCP_ADMIN_API_KEY: options.key ?? '' }, timeout: 150_000, maxBuffer: 1 << 24 },
  );
  const passed: string[] = [];
  const failed = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^(PASS|FAIL) (\S+)(?: \(not scored\))?(?:: (.*))?$/.exec(line);
    if (!match || line.includes('(not scored)')) continue;
    if (match[1] === 'PASS') passed.push(match[2]!);
    else failed.set(match[2]!, match[3] ?? '');
  }
  return { passed: passed.sort(), failed, output: stdout };
}
