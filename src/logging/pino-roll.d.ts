// pino-roll ships no type declarations; this covers the part of its API the file sink uses.
declare module 'pino-roll' {
  import type { EventEmitter } from 'node:events';

  /** Resolves to a sonic-boom stream that reopens the next numbered file when the size or period is reached. */
  function pinoRoll(options: pinoRoll.PinoRollOptions): Promise<pinoRoll.RollingStream>;

  namespace pinoRoll {
    interface PinoRollOptions {
      file: string;
      /** A number means megabytes; `'<n>b'`, `'<n>k'`, `'<n>m'`, `'<n>g'` state the unit. */
      size?: string | number;
      frequency?: 'daily' | 'hourly' | number;
      extension?: string;
      symlink?: boolean;
      /** `count`: files kept besides the active one, or in all with `removeOtherLogFiles`. */
      limit?: { count: number; removeOtherLogFiles?: boolean };
      dateFormat?: string;
      mkdir?: boolean;
      sync?: boolean;
      minLength?: number;
    }

    interface RollingStream extends EventEmitter {
      readonly file: string;
      readonly destroyed: boolean;
      write(data: string): boolean;
      flush(callback?: (err?: Error | null) => void): void;
      flushSync(): void;
      end(): void;
    }
  }

  export = pinoRoll;
}
