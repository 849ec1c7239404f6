import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FinishedExecution } from './execution-recorder';
import { ExecutionSpool } from './execution-spool';

const record = (id: string) =>
  ({ id, startedAt: new Date(0), completedAt: new Date(1) }) as unknown as FinishedExecution;

describe('ExecutionSpool', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'spool-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('knows whether it holds records without asking the filesystem per call, and across a restart', async () => {
    const spool = new ExecutionSpool(dir);
    expect(spool.pending).toBe(false);
    expect(spool.append([record('a'), record('b')])).toBe(true);
    expect(spool.pending).toBe(true);
    // A new process on the same data dir finds what the last one spooled.
    const next = new ExecutionSpool(dir);
    expect(next.pending).toBe(true);
    const written: string[] = [];
    await expect(next.replay(async (chunk) => void written.push(...chunk.map((r) => r.id)), 1)).resolves.toBe(2);
    expect(written).toEqual(['a', 'b']);
    expect(next.pending).toBe(false);
  });

  it('stays pending when the replay fails, and when records arrive during a replay', async () => {
    const spool = new ExecutionSpool(dir);
    spool.append([record('a')]);
    await expect(spool.replay(() => Promise.reject(new Error('database away')), 10)).rejects.toThrow('database away');
    expect(spool.pending).toBe(true);
    await spool.replay(async () => void spool.append([record('late')]), 10);
    expect(spool.pending).toBe(true);
    const written: string[] = [];
    await spool.replay(async (chunk) => void written.push(...chunk.map((r) => r.id)), 10);
    expect(written).toEqual(['late']);
    expect(spool.pending).toBe(false);
  });
});
