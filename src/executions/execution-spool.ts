import {
  appendFileSync,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  fsyncSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import type { FinishedExecution } from './execution-recorder';

/** Bytes the spool may hold; beyond it a record is refused (logged) rather than the disk filled. */
export const MAX_SPOOL_BYTES = 256 * 1024 * 1024;

/**
 * Finished executions the database could not take, kept in a file under the data dir so that they survive a restart
 * of the process: one JSON line per record, appended and fsync'ed before the caller gets its answer. Replayed by the
 * recorder once the database answers again (at start, and on a timer while the spool is not empty).
 *
 * Replay renames the file first (`executions.replaying.jsonl`): records spooled while a replay runs go to a new file,
 * and a replay cut short by a crash is found again at the next start. A record replayed twice is harmless: the
 * recorder's write is an upsert on the execution id.
 */
export class ExecutionSpool {
  private readonly file: string;
  private readonly replaying: string;
  /**
   * Whether either file exists, known without a filesystem call: every call's record asks, and this process is the
   * spool's only writer (one gateway per data dir), so the files change only through this object.
   */
  private holdsRecords: boolean;

  constructor(directory: string) {
    this.file = path.join(directory, 'executions.spool.jsonl');
    this.replaying = path.join(directory, 'executions.replaying.jsonl');
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    this.holdsRecords = this.filesExist();
  }

  /** Appends the records durably; false when the spool is full (the records are not kept). */
  append(records: readonly FinishedExecution[]): boolean {
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    if (this.size() + Buffer.byteLength(text) > MAX_SPOOL_BYTES) return false;
    const fd = openSync(this.file, 'a', 0o600);
    try {
      this.holdsRecords = true;
      appendFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** Whether anything waits for the database. */
  get pending(): boolean {
    return this.holdsRecords;
  }

  /**
   * Hands every spooled record to `write` (in order, in chunks) and forgets them once written. Throws what `write`
   * throws; the records not written stay for the next replay.
   */
  async replay(write: (records: FinishedExecution[]) => Promise<void>, chunkSize: number): Promise<number> {
    if (!existsSync(this.replaying)) {
      if (!existsSync(this.file)) {
        this.holdsRecords = false;
        return 0;
      }
      renameSync(this.file, this.replaying);
    }
    const records = readFileSync(this.replaying, 'utf8')
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .flatMap((line) => {
        try {
          return [revive(JSON.parse(line) as FinishedExecution)];
        } catch {
          return []; // a line cut by a crash mid-append: its call was not answered (the append did not finish)
        }
      });
    for (let i = 0; i < records.length; i += chunkSize) await write(records.slice(i, i + chunkSize));
    rmSync(this.replaying, { force: true });
    this.holdsRecords = this.filesExist();
    return records.length;
  }

  private filesExist(): boolean {
    return existsSync(this.file) || existsSync(this.replaying);
  }

  private size(): number {
    try {
      return statSync(this.file).size;
    } catch {
      return 0;
    }
  }
}

function revive(record: FinishedExecution): FinishedExecution {
  return { ...record, startedAt: new Date(record.startedAt), completedAt: new Date(record.completedAt) };
}
