import { AppException } from 'src/common/errors/app.exception';

/** One step of a batch as the scheduler sees it. */
export interface PlannedStep {
  id: string;
  dependsOn: readonly string[];
}

export type StepStatus = 'completed' | 'failed' | 'skipped';

export interface StepOutcome<R> {
  status: StepStatus;
  value?: R;
  /** Id of the execution record, when the step was recorded. */
  recordId?: string;
  error?: { code: string; message: string };
  durationMs: number;
}

/**
 * Refuses a batch whose graph cannot run, before anything runs: duplicate step ids, unknown or self dependencies,
 * cycles (400 INVALID_PARAMETERS naming the steps).
 */
export function validatePlan(steps: readonly PlannedStep[]): void {
  const ids = new Set<string>();
  const duplicates = new Set<string>();
  for (const step of steps) (ids.has(step.id) ? duplicates : ids).add(step.id);
  if (duplicates.size > 0) {
    throw AppException.invalid(`Duplicate execution_id: ${[...duplicates].join(', ')}`, {
      duplicate_ids: [...duplicates],
    });
  }
  const unknown = steps.flatMap((s) =>
    s.dependsOn.filter((d) => !ids.has(d)).map((d) => ({ step: s.id, depends_on: d })),
  );
  if (unknown.length > 0) {
    throw AppException.invalid(`Unknown dependency: ${unknown.map((u) => `${u.step} -> ${u.depends_on}`).join(', ')}`, {
      unknown_dependencies: unknown,
    });
  }
  const cycle = findCycle(steps);
  if (cycle) throw AppException.invalid(`Dependency cycle: ${cycle.join(' -> ')}`, { cycle });
}

/** One cycle as a path that ends where it starts, or undefined. */
function findCycle(steps: readonly PlannedStep[]): string[] | undefined {
  const deps = new Map(steps.map((s) => [s.id, s.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const step of steps) {
    const found = visit(step.id);
    if (found) return found;
  }
  return undefined;
}

/**
 * Runs a validated plan: a step starts once all it depends on completed, at most `maxParallel` at once, in the
 * order given among the ready ones. A step whose dependency failed or was skipped is `skipped`. With `failFast`,
 * the first failure also skips every step not started yet (steps already running finish).
 */
export async function runPlan<S extends PlannedStep, R>(
  steps: readonly S[],
  options: { maxParallel: number; failFast: boolean },
  run: (step: S) => Promise<StepOutcome<R>>,
): Promise<Map<string, StepOutcome<R>>> {
  const outcomes = new Map<string, StepOutcome<R>>();
  const pending = [...steps];
  let running = 0;
  let stopped = false;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      // Skip what can no longer run, repeatedly (a skip may make dependants skippable).
      for (let changed = true; changed;) {
        changed = false;
        for (let i = 0; i < pending.length; i++) {
          const step = pending[i]!;
          const blocked = step.dependsOn.some((d) => {
            const status = outcomes.get(d)?.status;
            return status === 'failed' || status === 'skipped';
          });
          if (stopped || blocked) {
            outcomes.set(step.id, {
              status: 'skipped',
              error: {
                code: 'SKIPPED',
                message: stopped
                  ? 'Not run: an earlier step failed (fail_fast)'
                  : 'Not run: a dependency did not complete',
              },
              durationMs: 0,
            });
            pending.splice(i--, 1);
            changed = true;
          }
        }
      }
      for (let i = 0; i < pending.length && running < options.maxParallel; i++) {
        const step = pending[i]!;
        if (!step.dependsOn.every((d) => outcomes.get(d)?.status === 'completed')) continue;
        pending.splice(i--, 1);
        running++;
        run(step)
          .then((outcome) => {
            outcomes.set(step.id, outcome);
            if (outcome.status === 'failed' && options.failFast) stopped = true;
          })
          .catch(reject)
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running === 0 && pending.length === 0) resolve(outcomes);
    };
    pump();
  });
}
