import { PendingInput, type Step } from '../input-required/pending-input';

const WINDOW_OVER = new Error('the synchronous window of the task ended');

/**
 * The origin of a task's job whose client can be asked something (it declared sampling, elicitation or roots): the
 * upstream's questions are held as by `PendingInput`. Before the task is handed out they are multi-round-trip rounds
 * of the `tools/call` itself (InputRounds serves them, and the retry resumes the same job); once it is handed out they
 * are the task's `inputRequests`, answered by `tasks/update` (TaskInputs).
 *
 * A call still synchronous waits for its next step at most `windowMs` (`mcp.endpoint.task-sync-window`): a question
 * within it is a round; anything else (the window passing, the call ending) hands the task out, its handle being the
 * answer. The extension's advice: MRTR exchanges before a task is created are resolved synchronously.
 */
export class TaskCall extends PendingInput {
  /** The client has the task's id: questions go to `tasks/get`, not to a round. */
  handedOut = false;

  constructor(
    declared: Record<string, unknown>,
    private readonly windowMs: number,
    private readonly handle: () => Record<string, unknown>,
  ) {
    super(declared);
  }

  override async next(signal: AbortSignal): Promise<Step> {
    if (this.handedOut) return this.handOut();
    const window = new AbortController();
    const timer = setTimeout(() => window.abort(WINDOW_OVER), this.windowMs);
    try {
      const step = await super.next(AbortSignal.any([signal, window.signal]));
      return step.kind === 'input' ? step : this.handOut();
    } catch (error) {
      if (window.signal.aborted && !signal.aborted) return this.handOut();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** From now on the client follows the task: the step is its handle (`CreateTaskResult`), whatever its status. */
  private handOut(): Step {
    this.handedOut = true;
    return { kind: 'done', result: this.handle() };
  }
}
