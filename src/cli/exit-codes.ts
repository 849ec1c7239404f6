/** What a `globalmcp` exit status means; docs/cli.md lists them for scripts. */
export const ExitCode = {
  ok: 0,
  /** Wrong usage or input: an unknown option, a malformed `key=value`, a file that cannot be read, a 400 or 413. */
  usage: 1,
  /** No credential, a refused one (401) or one without the scope or server (403); a profile file others can read. */
  auth: 2,
  notFound: 3,
  /** 409: the thing exists already, is read-only (a configuration file server), or is busy. */
  conflict: 4,
  /** The gateway or the upstream failed: 5xx, 429, a tool result with `is_error`, a job that did not complete. */
  failed: 5,
  /** No answer from the gateway at `--url` (refused, unknown host, timeout). */
  unreachable: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** HTTP status of an error answer → exit code. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.auth;
  if (status === 404) return ExitCode.notFound;
  if (status === 409) return ExitCode.conflict;
  if (status >= 400 && status < 500 && status !== 429) return ExitCode.usage;
  return ExitCode.failed;
}

/** An error the CLI prints (one line on stderr, or the envelope with `--output json`) and exits with. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** The gateway's error envelope body, when the error came from one. */
    readonly envelope?: { code: string; message: string; request_id?: string; details?: unknown },
  ) {
    super(message);
  }
}
