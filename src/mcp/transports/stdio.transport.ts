import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ServerEntry } from 'src/config/config.schema';
import type { EngineLogger } from '../engine-logger';

const MAX_STDERR_LINE = 4_096;
const STDERR_TAIL_LINES = 20;

export interface StdioTransportOptions {
  logger: EngineLogger;
  /** Largest single JSON-RPC line accepted from the child; beyond it the SDK drops the connection. */
  maxBufferSize: number;
}

/**
 * The environment of a child: the SDK's short list of harmless variables (PATH, HOME, USER, ...) plus the server's
 * configured `environment`. The gateway's own `process.env` (database password, JWT secret) never reaches it.
 */
export function childEnvironment(entry: Pick<ServerEntry, 'environment'>): Record<string, string> {
  return { ...getDefaultEnvironment(), ...entry.environment };
}

const SETSID = ['/usr/bin/setsid', '/bin/setsid'].find((candidate) => existsSync(candidate));

/**
 * The command line that starts a child in a session (and process group) of its own, through util-linux `setsid`
 * (which execs in place: the PID is the server's). A Ctrl+C in a terminal, or a SIGTERM sent to the gateway's
 * whole process group (npm, some supervisors), then reaches the gateway only, which drains in-flight calls and
 * closes its children itself, instead of the children dying under calls still in flight.
 */
export function ownProcessGroup(command: string, args: readonly string[]): { command: string; args: string[] } {
  if (!SETSID || process.platform !== 'linux') return { command, args: [...args] };
  return { command: SETSID, args: ['--', command, ...args] };
}

/** A stdio transport plus what the engine needs around it: stderr tail, the child handle. */
export class StdioTransportHandle {
  readonly transport: StdioClientTransport;
  private readonly stderrTail: string[] = [];

  constructor(
    readonly serverId: string,
    entry: ServerEntry,
    options: StdioTransportOptions,
  ) {
    if (!entry.command) throw new Error(`stdio server '${serverId}' has no command`);
    const launch = ownProcessGroup(entry.command, entry.args);
    this.transport = new StdioClientTransport({
      command: launch.command,
      args: launch.args,
      env: childEnvironment(entry),
      cwd: entry.workingDirectory,
      stderr: 'pipe',
      maxBufferSize: options.maxBufferSize,
    });
    // The PassThrough exists before start(), so no early line is lost.
    const stderr = this.transport.stderr;
    if (stderr) {
      const lines = createInterface({ input: stderr as unknown as NodeJS.ReadableStream, crlfDelay: Infinity });
      lines.on('line', (raw) => {
        const line = raw.length > MAX_STDERR_LINE ? `${raw.slice(0, MAX_STDERR_LINE)}…` : raw;
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
        options.logger.log(`[${serverId}] ${line}`, `mcp:${serverId}`);
      });
    }
  }

  get pid(): number | null {
    return this.transport.pid;
  }

  /**
   * The SDK keeps the ChildProcess private; we read it (when present) only to observe its exit precisely. Without
   * it the reaper falls back to polling the PID.
   */
  get child(): ChildProcess | undefined {
    const candidate = (this.transport as unknown as { _process?: ChildProcess })._process;
    return candidate && typeof candidate.once === 'function' ? candidate : undefined;
  }

  /** The last stderr lines, to explain a crash. */
  lastStderr(lines = 3): string {
    return this.stderrTail.slice(-lines).join(' | ');
  }
}

/**
 * Messages sent during one turn of the event loop leave the gateway in one pipe write: under concurrent calls each
 * JSON-RPC line was a write of its own (a syscall here, a read and a parse wake-up in the server). The cork is
 * lifted in the same turn (setImmediate runs before the loop waits for I/O again), so a lone call is not delayed.
 */
export function coalesceWrites(transport: StdioClientTransport, stdin: Writable): void {
  const send = transport.send.bind(transport);
  let corked = false;
  transport.send = (message) => {
    if (!corked && stdin.writable) {
      corked = true;
      stdin.cork();
      setImmediate(() => {
        corked = false;
        stdin.uncork();
      });
    }
    return send(message);
  };
}
