import { appConfigSchema, type AppConfig } from 'src/config/config.schema';
import type { LogTarget } from './log-sinks';

/** A console target that keeps what the logger writes, for assertions. */
export class CapturedOutput implements LogTarget {
  readonly chunks: string[] = [];

  write(data: string): void {
    this.chunks.push(data);
  }

  /** Everything written, split into lines (without the trailing empty one). */
  get lines(): string[] {
    return this.chunks
      .join('')
      .split('\n')
      .filter((line, i, all) => line !== '' || i < all.length - 1);
  }

  /** One parsed object per JSON line. */
  get records(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** A validated configuration whose `logging` section is `logging` (the schema's key spelling, camelCase). */
export function configWithLogging(logging: Record<string, unknown>): AppConfig {
  return appConfigSchema.parse({ logging });
}

/**
 * The deployment guide's Logstash grok, `%{TIMESTAMP_ISO8601:timestamp} \[%{DATA:thread}\] %{LOGLEVEL:level}
 * %{DATA:logger} - %{GREEDYDATA:content}`, spelled out with the definitions of Logstash's grok-patterns file
 * (atomic groups written as plain ones, `.` not crossing a line as in Oniguruma). Anchored at the line start, as
 * the guide's filter only groks messages that begin with a date.
 */
const YEAR = '(?:\\d\\d){1,2}';
const MONTHNUM = '(?:0?[1-9]|1[0-2])';
const MONTHDAY = '(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])';
const HOUR = '(?:2[0123]|[01]?[0-9])';
const MINUTE = '(?:[0-5][0-9])';
const SECOND = '(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)';
const ISO8601_TIMEZONE = `(?:Z|[+-]${HOUR}(?::?${MINUTE}))`;
const TIMESTAMP_ISO8601 = `${YEAR}-${MONTHNUM}-${MONTHDAY}[T ]${HOUR}:?${MINUTE}(?::?${SECOND})?${ISO8601_TIMEZONE}?`;
const LOGLEVEL =
  '(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo?(?:rmation)?|INFO?(?:RMATION)?|' +
  '[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|' +
  '[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)';
export const GUIDE_GROK = new RegExp(
  `^(?<timestamp>${TIMESTAMP_ISO8601}) \\[(?<thread>.*?)\\] (?<level>${LOGLEVEL}) (?<logger>.*?) - (?<content>.*)$`,
);

/** The guide's multiline codec starts a new event at a line that begins with a date. */
export const STARTS_EVENT = /^\d{4}-\d{2}-\d{2}/;

/** The production pattern of the deployment guide (`logging.pattern.console` and `.file`). */
export const GUIDE_PATTERN = '%d{yyyy-MM-dd HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n';
