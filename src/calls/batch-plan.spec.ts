import { AppException } from 'src/common/errors/app.exception';
import { runPlan, validatePlan, type PlannedStep, type StepOutcome } from './batch-plan';

const step = (id: string, ...dependsOn: string[]): PlannedStep => ({ id, dependsOn });

function refusal(steps: PlannedStep[]): AppException {
  try {
    validatePlan(steps);
  } catch (e) {
    if (e instanceof AppException) return e;
    throw e;
  }
  throw new Error('accepted');
}

describe('validatePlan', () => {
  it('accepts a DAG', () => {
    expect(() => validatePlan([step('a'), step('b', 'a'), step('c', 'a', 'b')])).not.toThrow();
  });

  it('names duplicates, unknown dependencies and cycles', () => {
    expect(refusal([step('a'), step('a')]).details).toEqual({ duplicate_ids: ['a'] });
    expect(refusal([step('a', 'zz')]).details).toEqual({ unknown_dependencies: [{ step: 'a', depends_on: 'zz' }] });
    expect(refusal([step('a', 'c'), step('b', 'a'), step('c', 'b')]).details).toEqual({ cycle: ['a', 'c', 'b', 'a'] });
    expect(refusal([step('a', 'a')]).details).toEqual({ cycle: ['a', 'a'] });
    expect(refusal([step('a', 'a')]).status).toBe(400);
  });
});

describe('runPlan', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('respects dependencies and max_parallel', async () => {
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const steps = [step('a'), step('b'), step('c'), step('d', 'a', 'b'), step('e', 'd')];
    const outcomes = await runPlan(steps, { maxParallel: 2, failFast: false }, async (s) => {
      running++;
      peak = Math.max(peak, running);
      order.push(`start ${s.id}`);
      await sleep(10);
      order.push(`end ${s.id}`);
      running--;
      return { status: 'completed', durationMs: 10 } satisfies StepOutcome<never>;
    });
    expect(peak).toBe(2);
    expect(order.indexOf('start d')).toBeGreaterThan(Math.max(order.indexOf('end a'), order.indexOf('end b')));
    expect(order.indexOf('start e')).toBeGreaterThan(order.indexOf('end d'));
    expect([...outcomes.values()].every((o) => o.status === 'completed')).toBe(true);
  });

  it('skips dependants of a failure; independent steps go on unless fail_fast', async () => {
    const steps = [step('bad'), step('child', 'bad'), step('grandchild', 'child'), step('other')];
    const run = async (s: PlannedStep): Promise<StepOutcome<never>> => {
      await sleep(s.id === 'other' ? 20 : 1);
      return s.id === 'bad'
        ? { status: 'failed', error: { code: 'X', message: 'x' }, durationMs: 1 }
        : { status: 'completed', durationMs: 1 };
    };
    const loose = await runPlan(steps, { maxParallel: 4, failFast: false }, run);
    expect(Object.fromEntries([...loose].map(([id, o]) => [id, o.status]))).toEqual({
      bad: 'failed',
      child: 'skipped',
      grandchild: 'skipped',
      other: 'completed',
    });
    const strict = await runPlan(
      [step('bad'), step('later', 'first'), step('first')],
      { maxParallel: 1, failFast: true },
      run,
    );
    expect(Object.fromEntries([...strict].map(([id, o]) => [id, o.status]))).toEqual({
      bad: 'failed',
      later: 'skipped',
      first: 'skipped',
    });
  });
});
