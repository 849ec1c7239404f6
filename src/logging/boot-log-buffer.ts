import type { LoggerService } from '@nestjs/common';
import { writeSync } from 'node:fs';
import { logAt } from './logger.factory';

type Method = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';

interface BootLine {
  method: Method;
  time: number;
  message: unknown;
  params: unknown[];
}

/**
 * Nest's logger while the API application is being created, before the pino logger (a provider of that very
 * application) exists. Nest's own `bufferLogs` keeps the lines but not their time, so every line of a start came out
 * with the time of the replay and nobody could see what the start spent its time on. This keeps each line with the
 * time it was logged; {@link replayInto} writes them through the real logger with that time. Lines never replayed (a
 * start that failed before the logger existed) are written to stderr when the process exits.
 */
export class BootLogBuffer implements LoggerService {
  private lines: BootLine[] | undefined = [];

  constructor() {
    process.once('exit', this.writeLeftovers);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.keep('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.keep('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.keep('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.keep('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.keep('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.keep('fatal', message, params);
  }

  /** Writes the kept lines through `logger`, each stamped with the time it was logged; later lines go there directly. */
  replayInto(logger: LoggerService): void {
    const lines = this.lines ?? [];
    this.lines = undefined;
    process.off('exit', this.writeLeftovers);
    for (const line of lines) {
      logAt(line.time, () => {
        logger[line.method]?.(line.message, ...line.params);
      });
    }
  }

  private keep(method: Method, message: unknown, params: unknown[]): void {
    if (this.lines) this.lines.push({ method, time: Date.now(), message, params });
    else process.stderr.write(`${plainLine({ method, time: Date.now(), message, params })}\n`);
  }

  private readonly writeLeftovers = (): void => {
    const lines = this.lines ?? [];
    this.lines = undefined;
    if (lines.length > 0) writeSync(2, lines.map(plainLine).join('\n') + '\n');
  };
}

/** `2026-12-07T16:27:54.375Z LOG [InstanceLoader] AppModule dependencies initialized`; Nest puts the context last. */
function plainLine({ method, time, message, params }: BootLine): string {
  const rest = [...params];
  const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? `[${String(rest.pop())}] ` : '';
  const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
  const extra = rest.filter((p) => p !== undefined).map((p) => `\n${typeof p === 'string' ? p : JSON.stringify(p)}`);
  return `${new Date(time).toISOString()} ${method.toUpperCase()} ${context}${text}${extra.join('')}`;
}
