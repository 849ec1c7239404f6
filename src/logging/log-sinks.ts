import { lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import pinoRoll from 'pino-roll';
import type { LogRecord, TextLayout } from './logback-pattern';

/** Anything with a synchronous `write`: `process.stdout`, a sonic-boom stream, a test's collector. */
export interface LogTarget {
  write(data: string): unknown;
  flushSync?(): void;
}

/** One output of the root logger: the console or a file, as JSON lines or through a text layout. */
export interface LogSink {
  /** True when the sink renders records itself and needs the parsed line. */
  readonly needsRecord: boolean;
  write(line: string, record: LogRecord | undefined): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The pino destination: parses each JSON line at most once and hands it to every sink. In-process on purpose:
 * no worker thread to start, to flush at shutdown or to leave behind in a test.
 */
export class LogDestination {
  private readonly needsRecord: boolean;

  constructor(private readonly sinks: readonly LogSink[]) {
    this.needsRecord = sinks.some((sink) => sink.needsRecord);
  }

  write(line: string): void {
    let record: LogRecord | undefined;
    if (this.needsRecord) {
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        record = { msg: line.trimEnd() };
      }
    }
    for (const sink of this.sinks) sink.write(line, record);
  }

  /** pino's `logger.flush(cb)` lands here. */
  flush(callback?: (err?: Error) => void): void {
    this.flushAll().then(
      () => callback?.(),
      (err: unknown) => callback?.(err instanceof Error ? err : new Error(String(err))),
    );
  }

  async flushAll(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }
}

/** Console sinks holding lines of the current event-loop turn; written out at process exit as well. */
const batchingSinks = new Set<ConsoleSink>();
let exitHookInstalled = false;

/**
 * Writes to a stream the sink does not own (stdout): flushed at close, never ended. With `batch`, the lines of one
 * event-loop turn are written together once the turn's I/O is done (`setImmediate`): under load that is one write
 * for many request lines instead of one each; lines are never held longer than the turn, and what is held at exit is
 * written synchronously.
 */
export class ConsoleSink implements LogSink {
  readonly needsRecord: boolean;
  private pending = '';
  private scheduled = false;

  constructor(
    private readonly target: LogTarget,
    private readonly layout?: TextLayout,
    private readonly batch = false,
  ) {
    this.needsRecord = layout !== undefined;
    if (batch && !exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const sink of batchingSinks) void sink.flush();
      });
    }
  }

  write(line: string, record: LogRecord | undefined): void {
    const text = this.layout && record ? this.layout.format(record) : line;
    if (!this.batch) {
      this.target.write(text);
      return;
    }
    this.pending += text;
    if (!this.scheduled) {
      this.scheduled = true;
      batchingSinks.add(this);
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    batchingSinks.delete(this);
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.target.write(text);
  };

  flush(): Promise<void> {
    this.drain();
    try {
      this.target.flushSync?.();
    } catch {
      // An async stdout still opening or busy: nothing more can be done synchronously.
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.flush();
  }
}

export interface RollingFileOptions {
  /** The configured file, e.g. `/var/log/globalmcp/application.log`. */
  file: string;
  /** Rotate once the active file reaches this many bytes. */
  maxFileSize: number;
  /** Files kept in all, the active one included; undefined keeps every file. */
  maxFiles?: number;
  layout?: TextLayout;
  /** Where problems with the file itself are reported (the logger cannot log about its own file). */
  onError?: (message: string) => void;
}

/** Lines written before pino-roll has opened the file are held, up to this many, then dropped. */
const MAX_PENDING_LINES = 10_000;

/**
 * A size-rotated log file on pino-roll: the active file is `<name>.<n>.<ext>` (`application.3.log`), older
 * ones keep lower numbers and the oldest beyond `maxFiles` are deleted, across restarts too. The configured
 * name itself is kept as a symbolic link to the active file, so `tail -F` and the guide's Logstash input find it.
 *
 * Writes are synchronous, as Logback's file appender is: nothing is lost when the process dies, and the next
 * file exists before the history is pruned, so the count is exact.
 */
export class RollingFileSink implements LogSink {
  readonly needsRecord: boolean;
  private stream?: pinoRoll.RollingStream;
  private pending: string[] = [];
  private closed = false;
  private readonly ready: Promise<void>;
  private readonly report: (message: string) => void;

  constructor(private readonly options: RollingFileOptions) {
    this.needsRecord = options.layout !== undefined;
    this.report = options.onError ?? ((message) => process.stderr.write(`[globalmcp logging] ${message}\n`));
    this.ready = this.open();
  }

  private async open(): Promise<void> {
    const { file, maxFileSize, maxFiles } = this.options;
    try {
      mkdirSync(dirname(file), { recursive: true });
      const stream = await pinoRoll({
        file,
        size: `${Math.max(1, maxFileSize)}b`,
        limit: maxFiles !== undefined ? { count: Math.max(1, maxFiles), removeOtherLogFiles: true } : undefined,
        mkdir: true,
        sync: true,
      });
      stream.on('error', (err: Error) => this.report(`log file ${file}: ${err.message}`));
      stream.on('ready', () => this.linkActiveFile(stream.file));
      this.linkActiveFile(stream.file);
      this.stream = stream;
      if (this.closed) {
        await endStream(stream);
        return;
      }
      for (const line of this.pending) stream.write(line);
    } catch (err) {
      this.report(`cannot write the log file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.pending = [];
    }
  }

  write(line: string, record: LogRecord | undefined): void {
    if (this.closed) return;
    const text = this.options.layout && record ? this.options.layout.format(record) : line;
    if (this.stream) {
      if (!this.stream.destroyed) this.stream.write(text);
    } else if (this.pending.length < MAX_PENDING_LINES) {
      this.pending.push(text);
    }
  }

  /** Resolves once the file is open and everything written so far is on disk. */
  async flush(): Promise<void> {
    await this.ready;
    const stream = this.stream;
    if (!stream || stream.destroyed) return;
    try {
      stream.flushSync();
    } catch {
      // Nothing buffered, or the stream is between files; a sync stream has written everything already.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.ready;
    if (this.stream && !this.stream.destroyed) await endStream(this.stream);
  }

  /** Points the configured name at the active numbered file; a regular file of that name is left alone. */
  private linkActiveFile(active: string): void {
    const link = this.options.file;
    if (!active || active === link) return;
    try {
      const existing = lstatSync(link, { throwIfNoEntry: false });
      if (existing && !existing.isSymbolicLink()) return;
      if (existing) unlinkSync(link);
      symlinkSync(basename(active), link);
    } catch {
      // Symbolic links are a convenience (unsupported on some file systems); the numbered files are the log.
    }
  }
}

function endStream(stream: pinoRoll.RollingStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
    stream.end();
  });
}
