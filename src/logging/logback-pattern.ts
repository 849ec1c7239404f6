import cluster from 'node:cluster';
import { isMainThread, threadId } from 'node:worker_threads';
import { compileDateFormat } from './logback-date-format';

/**
 * Renders log records as plain-text lines laid out by a Spring/Logback pattern (`logging.pattern.console`,
 * `logging.pattern.file`), so that the deployment guide's Logstash grok and multiline codec keep working unchanged.
 *
 * Honoured: `%d`/`%date{format[, UTC]}`, `%t`/`%thread`, `%p`/`%le`/`%level`, `%c`/`%lo`/`%logger{n}`,
 * `%m`/`%msg`/`%message`, `%n`, `%X{key[:-default]}`, `%ex`/`%throwable` and friends, `%r`/`%relative`, format
 * modifiers (`%-5level`, `%15.15t`, `%.-3msg`), Spring's colour composites (`%clr(...){faint}`, `%highlight(...)`;
 * rendered without colour) and `${NAME:-default}` placeholders (`${PID}` is the process id). Caller data
 * (`%C`, `%M`, `%L`, `%F`) is not available in Node and renders `?`, as Logback does when it is missing.
 */

/** One log record as pino serialises it (see `logger.factory.ts`: `time` ISO string, `level` upper-case word). */
export type LogRecord = Record<string, unknown>;

export interface TextLayout {
  /** Renders one record; the result always ends with a newline, stack traces on the following lines. */
  format(record: LogRecord): string;
}

type Part = (record: LogRecord) => string;

interface Modifier {
  leftAlign: boolean;
  min?: number;
  max?: number;
  /** Logback truncates from the start by default; `%.-n` truncates from the end. */
  truncateEnd: boolean;
}

/** Record keys a text line shows in fixed places; everything else is appended to the message as ` key=value`. */
const LAYOUT_KEYS = new Set(['time', 'level', 'msg', 'context', 'err']);

/** Logback's `%d` without a format, also `%d{ISO8601}`. */
const LOGBACK_DEFAULT_DATE = 'yyyy-MM-dd HH:mm:ss,SSS';
const ROOT_LOGGER_NAME = 'globalmcp';
const processStart = Date.now() - Math.round(process.uptime() * 1000);

/** `main` in the main thread, like the JVM's main thread; the worker's id elsewhere. */
export function currentThreadName(): string {
  if (!isMainThread) return `worker-${threadId}`;
  if (cluster.isWorker && cluster.worker) return `worker-${cluster.worker.id}`;
  return 'main';
}

/** Compiles a pattern once; the returned layout is cheap to call per line. */
export function compileLogbackPattern(pattern: string): TextLayout {
  // Filled while parsing and read per line, so `%X{requestId}` anywhere in the pattern keeps that key out of the
  // fields appended to the message.
  const mdcKeys = new Set<string>();
  const hasThrowable = { value: false };
  const parts = parseSequence(new Cursor(pattern), { mdcKeys, hasThrowable, thread: currentThreadName() }, false);
  return {
    format(record: LogRecord): string {
      let line = '';
      for (const part of parts) line += part(record);
      if (!line.endsWith('\n')) line += '\n';
      if (!hasThrowable.value) line += renderThrowable(record);
      return line;
    },
  };
}

interface ParseState {
  mdcKeys: Set<string>;
  hasThrowable: { value: boolean };
  thread: string;
}

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? '';
  }
  match(re: RegExp): string | undefined {
    const sticky = new RegExp(re.source, 'y');
    sticky.lastIndex = this.pos;
    const m = sticky.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
}

function parseSequence(cursor: Cursor, state: ParseState, nested: boolean): Part[] {
  const parts: Part[] = [];
  let literal = '';
  const flush = () => {
    if (literal) {
      const text = literal;
      parts.push(() => text);
      literal = '';
    }
  };
  while (!cursor.done) {
    const ch = cursor.peek();
    if (nested && ch === ')') break;
    if (ch === '\\' && cursor.pos + 1 < cursor.text.length) {
      literal += cursor.peek(1);
      cursor.pos += 2;
    } else if (ch === '%' && cursor.peek(1) === '%') {
      literal += '%';
      cursor.pos += 2;
    } else if (ch === '$' && cursor.peek(1) === '{') {
      flush();
      parts.push(...parsePlaceholder(cursor, state));
    } else if (ch === '%') {
      flush();
      parts.push(parseConversion(cursor, state));
    } else {
      literal += ch;
      cursor.pos += 1;
    }
  }
  flush();
  return parts;
}

/** Spring's `${NAME:-default}`: `PID` is ours, anything else takes its default (or nothing). */
function parsePlaceholder(cursor: Cursor, state: ParseState): Part[] {
  cursor.pos += 2;
  const name = cursor.match(/[A-Za-z0-9_.]*/) ?? '';
  let parts: Part[] = [];
  if (cursor.match(/:-?/)) {
    const start = cursor.pos;
    let depth = 0;
    while (!cursor.done && !(cursor.peek() === '}' && depth === 0)) {
      if (cursor.peek() === '{') depth++;
      if (cursor.peek() === '}') depth--;
      cursor.pos++;
    }
    parts = parseSequence(new Cursor(cursor.text.slice(start, cursor.pos)), state, false);
  } else {
    while (!cursor.done && cursor.peek() !== '}') cursor.pos++;
  }
  cursor.pos++; // the closing brace
  if (name === 'PID') {
    const pid = String(process.pid);
    return [() => pid];
  }
  return parts;
}

function parseConversion(cursor: Cursor, state: ParseState): Part {
  const start = cursor.pos;
  cursor.pos++; // '%'
  const modifier = parseModifier(cursor);
  const word = cursor.match(/[A-Za-z]+/) ?? '';
  let inner: Part[] | undefined;
  if (cursor.peek() === '(') {
    // A composite (`%clr(...)`, `%highlight(...)`, `%(...)`): colours mean nothing in a log file.
    cursor.pos++;
    inner = parseSequence(cursor, state, true);
    cursor.pos++; // ')'
  }
  const options: string[] = [];
  while (cursor.peek() === '{') {
    const end = cursor.text.indexOf('}', cursor.pos);
    if (end < 0) break;
    options.push(cursor.text.slice(cursor.pos + 1, end));
    cursor.pos = end + 1;
  }
  const part = inner ? joinParts(inner) : converter(word, options[0], state, cursor.text.slice(start, cursor.pos));
  return applyModifier(part, modifier);
}

function parseModifier(cursor: Cursor): Modifier {
  const leftAlign = cursor.match(/-/) !== undefined;
  const min = cursor.match(/\d+/);
  let max: string | undefined;
  let truncateEnd = false;
  if (cursor.peek() === '.') {
    cursor.pos++;
    truncateEnd = cursor.match(/-/) !== undefined;
    max = cursor.match(/\d+/);
  }
  return { leftAlign, min: min ? Number(min) : undefined, max: max ? Number(max) : undefined, truncateEnd };
}

function applyModifier(part: Part, { leftAlign, min, max, truncateEnd }: Modifier): Part {
  if (min === undefined && max === undefined) return part;
  return (record) => {
    let text = part(record);
    if (max !== undefined && text.length > max) text = truncateEnd ? text.slice(0, max) : text.slice(text.length - max);
    if (min !== undefined && text.length < min) text = leftAlign ? text.padEnd(min) : text.padStart(min);
    return text;
  };
}

function joinParts(parts: Part[]): Part {
  return (record) => {
    let text = '';
    for (const part of parts) text += part(record);
    return text;
  };
}

function converter(word: string, option: string | undefined, state: ParseState, source: string): Part {
  switch (word) {
    case 'd':
    case 'date':
      return dateConverter(option);
    case 't':
    case 'thread':
      return () => state.thread;
    case 'p':
    case 'le':
    case 'level':
      return (record) => (typeof record.level === 'string' ? record.level.toUpperCase() : 'INFO');
    case 'c':
    case 'lo':
    case 'logger':
      return loggerConverter(option);
    case 'm':
    case 'msg':
    case 'message':
      return (record) => renderMessage(record, state.mdcKeys);
    case 'n':
      return () => '\n';
    case 'X':
    case 'mdc':
      return mdcConverter(option, state);
    case 'ex':
    case 'exception':
    case 'throwable':
    case 'xEx':
    case 'xException':
    case 'xThrowable':
    case 'rEx':
    case 'rootException':
    case 'wEx':
    case 'wex':
      state.hasThrowable.value = true;
      return renderThrowable;
    case 'nopex':
    case 'nopexception':
      state.hasThrowable.value = true;
      return () => '';
    case 'r':
    case 'relative':
      return (record) => String(recordTime(record).getTime() - processStart);
    case 'C':
    case 'class':
    case 'M':
    case 'method':
    case 'L':
    case 'line':
    case 'F':
    case 'file':
    case 'caller':
      return () => '?';
    default:
      // Logback prints a parser error in place of an unknown word; the literal text is easier to spot and fix.
      return () => source;
  }
}

function recordTime(record: LogRecord): Date {
  const time = record.time;
  const date = typeof time === 'string' || typeof time === 'number' ? new Date(time) : new Date();
  return Number.isNaN(date.getTime()) ? new Date() : date;
}

function dateConverter(option: string | undefined): Part {
  const [rawFormat, rawZone] = (option ?? '').split(/,\s*/);
  const format = !rawFormat || rawFormat === 'ISO8601' ? LOGBACK_DEFAULT_DATE : rawFormat;
  const utc = rawZone !== undefined && /^(utc|gmt|z|etc\/utc|etc\/gmt)$/i.test(rawZone.trim());
  const render = compileDateFormat(format, utc);
  return (record) => render(recordTime(record));
}

/** `%logger{n}`: Logback shortens the package segments of a dotted name; Nest contexts have none and stay whole. */
function loggerConverter(option: string | undefined): Part {
  const length = option !== undefined && /^\d+$/.test(option.trim()) ? Number(option) : undefined;
  return (record) => {
    const name = typeof record.context === 'string' && record.context ? record.context : ROOT_LOGGER_NAME;
    return length === undefined ? name : abbreviateLogger(name, length);
  };
}

export function abbreviateLogger(name: string, length: number): string {
  const segments = name.split('.');
  const last = segments.pop() ?? name;
  if (length === 0) return last;
  if (name.length <= length) return name;
  let total = name.length;
  const shortened = segments.map((segment) => {
    if (total <= length || segment.length <= 1) return segment;
    total -= segment.length - 1;
    return segment.charAt(0);
  });
  return [...shortened, last].join('.');
}

function mdcConverter(option: string | undefined, state: ParseState): Part {
  if (!option) return () => '';
  const [key = '', fallback = ''] = option.split(':-');
  state.mdcKeys.add(key);
  return (record) => {
    const value = record[key];
    return value === undefined || value === null ? fallback : renderValue(value, false);
  };
}

/**
 * The message, with the record's extra fields appended as ` key=value`. Line breaks inside the message are
 * followed by a tab so that no continuation line can pass for a new event (the multiline codec starts one at a
 * line beginning with a date).
 */
function renderMessage(record: LogRecord, mdcKeys: Set<string>): string {
  let text =
    typeof record.msg === 'string' ? record.msg : record.msg === undefined ? '' : renderValue(record.msg, false);
  if (!text) {
    const err = record.err as { message?: unknown } | undefined;
    if (err && typeof err.message === 'string') text = err.message;
  }
  for (const key of Object.keys(record)) {
    if (LAYOUT_KEYS.has(key) || mdcKeys.has(key)) continue;
    const value = record[key];
    if (value === undefined) continue;
    text += ` ${key}=${renderValue(value, true)}`;
  }
  return text.replace(/\r\n|\r|\n/g, '\n\t');
}

/** Plain tokens stay bare; anything with spaces, quotes, `=` or structure is JSON so it parses back unambiguously. */
function renderValue(value: unknown, quote: boolean): string {
  if (typeof value === 'string') return quote && (value === '' || /[\s"=]/.test(value)) ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** The error's stack on the lines after the event; continuation lines never start with a digit (see above). */
function renderThrowable(record: LogRecord): string {
  const err = record.err as { stack?: unknown; message?: unknown; type?: unknown } | undefined;
  if (!err || typeof err !== 'object') return '';
  const stack =
    typeof err.stack === 'string' && err.stack
      ? err.stack
      : typeof err.message === 'string'
        ? `${typeof err.type === 'string' ? err.type : 'Error'}: ${err.message}`
        : '';
  if (!stack) return '';
  return (
    stack
      .split(/\r\n|\r|\n/)
      .map((line) => (/^\d/.test(line) ? `\t${line}` : line))
      .join('\n') + '\n'
  );
}
