/** Where `jobs follow` shows progress. */
export interface ProgressView {
  progress(progress: number, total: number | undefined, message: string | undefined): void;
  log(line: string): void;
  /** Leaves the bar's line (a terminal) before the final lines are printed. */
  end(): void;
}

const WIDTH = 30;

/**
 * A bar redrawn in place when `stream` is a terminal, else one plain line per progress change (logs and CI keep
 * readable lines, no carriage returns). `enabled: false` (`--output json`) shows nothing: stdout has the events.
 */
export function progressView(stream: NodeJS.WriteStream, enabled: boolean): ProgressView {
  if (!enabled) return { progress: () => undefined, log: () => undefined, end: () => undefined };
  const live = stream.isTTY === true;
  let drawn = false;
  const clear = () => {
    if (drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    progress(progress, total, message) {
      const suffix = message ? ` ${message}` : '';
      if (!live) {
        stream.write(`progress ${progress}${total ? `/${total}` : ''}${suffix}\n`);
        return;
      }
      clear();
      stream.write(total ? `${bar(progress / total)} ${progress}/${total}${suffix}` : `… ${progress}${suffix}`);
      drawn = true;
    },
    log(line) {
      clear();
      stream.write(`${line}\n`);
    },
    end: clear,
  };
}

/** `[#########·····················]  30%` */
export function bar(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * WIDTH);
  return `[${'#'.repeat(filled)}${'·'.repeat(WIDTH - filled)}] ${String(Math.round(clamped * 100)).padStart(3)}%`;
}
