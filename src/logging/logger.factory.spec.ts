import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pino from 'pino';
import { closeRootLogger, createRootLogger, filesKept, flushRootLogger, logFilePath } from './logger.factory';
import { CapturedOutput, configWithLogging, GUIDE_GROK, GUIDE_PATTERN, STARTS_EVENT } from './logging.test-support';

describe('createRootLogger', () => {
  const loggers: pino.Logger[] = [];
  const dirs: string[] = [];

  function build(logging: Record<string, unknown>, onFileError?: (message: string) => void) {
    const output = new CapturedOutput();
    const logger = createRootLogger(configWithLogging(logging), { console: output, onFileError });
    loggers.push(logger);
    return { logger, output };
  }

  function tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'globalmcp-logging-'));
    dirs.push(dir);
    return dir;
  }

  afterEach(async () => {
    await Promise.all(loggers.splice(0).map((logger) => closeRootLogger(logger)));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  describe('JSON (the default)', () => {
    it('writes one object per line with an ISO time, the level as a word, the message and the context', () => {
      const { logger, output } = build({});
      logger.info({ context: 'McpEngine', serverId: 'fs' }, 'connected');

      expect(output.lines).toHaveLength(1);
      const record = output.records[0];
      expect(record).toEqual({
        time: expect.any(String),
        level: 'INFO',
        context: 'McpEngine',
        serverId: 'fs',
        msg: 'connected',
      });
      expect(new Date(String(record?.time)).toISOString()).toBe(record?.time);
    });

    it('carries the request id bound by a request logger', () => {
      const { logger, output } = build({});
      logger.child({ request_id: 'req-42' }).warn({ context: 'ServersController' }, 'not found');
      expect(output.records[0]).toMatchObject({ level: 'WARN', request_id: 'req-42', msg: 'not found' });
    });

    it('serialises errors with their stack', () => {
      const { logger, output } = build({});
      logger.error({ err: new Error('boom'), context: 'McpEngine' }, 'call failed');
      expect(output.records[0]).toMatchObject({
        level: 'ERROR',
        err: { type: 'Error', message: 'boom', stack: expect.stringContaining('at ') },
      });
    });
  });

  describe('text', () => {
    it("renders logging.pattern.console so that the guide's grok parses it", () => {
      const { logger, output } = build({ pattern: { console: GUIDE_PATTERN } });
      logger.child({ request_id: 'abc' }).info({ context: 'McpEngine' }, 'MCP request to server fs: tools/list');

      const [line] = output.lines;
      expect(GUIDE_GROK.exec(line ?? '')?.groups).toMatchObject({
        thread: 'main',
        level: 'INFO',
        content: 'MCP request to server fs: tools/list request_id=abc',
      });
    });

    it("uses the guide's production layout when logging.format is text without a pattern", () => {
      const { logger, output } = build({ format: 'text' });
      logger.error({ context: 'McpEngine', err: new Error('boom') }, 'call failed');

      const [first, ...rest] = output.lines;
      expect(GUIDE_GROK.exec(first ?? '')?.groups).toMatchObject({ level: 'ERROR', content: 'call failed' });
      expect(rest[0]).toBe('Error: boom');
      expect(rest.some((l) => l.trimStart().startsWith('at '))).toBe(true);
      expect(rest.every((l) => !STARTS_EVENT.test(l))).toBe(true);
    });
  });

  describe('levels', () => {
    it('suppresses info when logging.level.root is WARN', () => {
      const { logger, output } = build({ level: { root: 'WARN' } });
      logger.info({ context: 'McpEngine' }, 'hidden');
      logger.warn({ context: 'McpEngine' }, 'shown');
      expect(output.records.map((r) => r.msg)).toEqual(['shown']);
    });

    it('enables debug for one context named in logging.level, and only for it', () => {
      const { logger, output } = build({
        level: { root: 'info', McpEngine: 'DEBUG', 'com.deepai.mcpclient': 'TRACE' },
      });
      logger.debug({ context: 'McpEngine' }, 'engine detail');
      logger.debug({ context: 'ServersService' }, 'hidden');
      logger.trace({ context: 'McpEngine' }, 'hidden too');
      logger.child({ context: 'McpEngine' }).debug('from a child logger');
      logger.debug('no context: hidden');
      expect(output.records.map((r) => r.msg)).toEqual(['engine detail', 'from a child logger']);
    });

    it('silences a context with OFF while the rest keeps logging', () => {
      const { logger, output } = build({ level: { root: 'INFO', HttpRequest: 'OFF' } });
      logger.error({ context: 'HttpRequest' }, 'hidden');
      logger.info({ context: 'Bootstrap' }, 'shown');
      expect(output.records.map((r) => r.msg)).toEqual(['shown']);
    });

    it('warns about a level it does not know and keeps the default', () => {
      const { logger, output } = build({ level: { root: 'LOUD' } });
      logger.info('still info');
      expect(output.records.map((r) => r.level)).toEqual(['WARN', 'INFO']);
      expect(String(output.records[0]?.msg)).toContain('logging.level.root');
    });
  });

  describe('redaction', () => {
    it('hides authorization, x-api-key and cookie headers and password, secret and token fields', () => {
      const { logger, output } = build({});
      logger.info(
        {
          req: {
            method: 'GET',
            headers: { authorization: 'Bearer s3cr3t-jwt', 'x-api-key': 'key-123', cookie: 'sid=abc', accept: 'json' },
          },
          datasource: { username: 'mcp', password: 'db-pass' },
          vault: { token: 'hvs.tok' },
          oauth: { secret: 'client-secret' },
        },
        'incoming',
      );
      const line = output.lines[0] ?? '';
      for (const secret of ['s3cr3t-jwt', 'key-123', 'sid=abc', 'db-pass', 'hvs.tok', 'client-secret'])
        expect(line).not.toContain(secret);
      expect(output.records[0]).toMatchObject({
        req: {
          headers: { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', cookie: '[REDACTED]', accept: 'json' },
        },
        datasource: { username: 'mcp', password: '[REDACTED]' },
      });
    });
  });

  describe('file', () => {
    it('also writes logging.file.name in the pattern.file layout, creating its directory', async () => {
      const dir = tempDir();
      const file = join(dir, 'nested', 'application.log');
      const { logger, output } = build({ pattern: { file: GUIDE_PATTERN }, file: { name: file } });
      logger.info({ context: 'Bootstrap' }, 'ready');
      await flushRootLogger(logger);

      expect(output.records[0]).toMatchObject({ msg: 'ready' }); // the console stays JSON
      const active = join(dir, 'nested', 'application.1.log');
      expect(GUIDE_GROK.exec(readFileSync(active, 'utf8').trimEnd())?.groups).toMatchObject({
        level: 'INFO',
        content: 'ready',
      });
      expect(lstatSync(file).isSymbolicLink()).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(readFileSync(active, 'utf8'));
    });

    it('rotates at maxFileSize and keeps maxHistory rotated files besides the active one', async () => {
      const dir = tempDir();
      const file = join(dir, 'application.log');
      const errors: string[] = [];
      const { logger } = build(
        { file: { name: file }, logback: { rollingpolicy: { maxFileSize: '1KB', maxHistory: 2 } } },
        (message) => errors.push(message),
      );
      await flushRootLogger(logger);

      const numbered = () => readdirSync(dir).filter((name) => /^application\.\d+\.log$/.test(name));
      const number = (name: string) => Number(name.split('.')[1]);
      // ~100 bytes a line: well over ten rotations; a turn of the event loop between lines lets pino-roll switch.
      for (let i = 0; i < 120; i++) {
        logger.info({ context: 'Load', i, padding: 'x'.repeat(40) }, 'line');
        await new Promise((resolve) => setImmediate(resolve));
      }
      await flushRootLogger(logger);
      const deadline = Date.now() + 2000; // old files are deleted asynchronously after each rotation
      while (numbered().length > 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

      const files = numbered().sort((a, b) => number(a) - number(b));
      expect(errors).toEqual([]);
      expect(files).toHaveLength(3);
      expect(number(files[2] ?? '')).toBeGreaterThan(10);
      for (const name of files.slice(0, 2)) {
        const size = statSync(join(dir, name)).size;
        expect(size).toBeGreaterThanOrEqual(1024);
        expect(size).toBeLessThan(1024 + 200); // rotation happens right after the write that crossed the size
      }
      expect(readlinkSync(file)).toBe(files[2]);
      // Nothing lost between files: the kept files hold the last lines in order (the active one may be empty).
      const kept = files.map((name) => readFileSync(join(dir, name), 'utf8')).join('');
      const numbers = kept
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { i: number }).i);
      expect(numbers.at(-1)).toBe(119);
      expect(numbers).toEqual(numbers.map((_, k) => (numbers[0] ?? 0) + k));
    });

    it('writes globalmcp.log under logging.file.path when no name is given', () => {
      expect(logFilePath(configWithLogging({ file: { path: '/var/log/globalmcp' } }))).toBe(
        '/var/log/globalmcp/globalmcp.log',
      );
      expect(logFilePath(configWithLogging({}))).toBeUndefined();
    });

    it('reports an unwritable location and keeps logging to the console', async () => {
      const blocker = join(tempDir(), 'not-a-dir');
      writeFileSync(blocker, ''); // a regular file where the directory should be
      const errors: string[] = [];
      const { logger, output } = build({ file: { name: join(blocker, 'app.log') } }, (m) => errors.push(m));
      logger.info('still here');
      await flushRootLogger(logger);
      expect(output.records.map((r) => r.msg)).toEqual(['still here']);
      expect(errors).toEqual([expect.stringContaining(join(blocker, 'app.log'))]);
    });
  });
});

describe('filesKept', () => {
  it('keeps maxHistory rotated files plus the active one', () => {
    expect(filesKept(100, 30, undefined)).toBe(31);
  });

  it('lowers the count so that files times size stays within totalSizeCap', () => {
    expect(filesKept(100 * 1024 ** 2, 30, 3 * 1024 ** 3)).toBe(30);
    expect(filesKept(1024, 30, 3 * 1024)).toBe(3);
    expect(filesKept(1024, 30, 10)).toBe(1);
  });

  it('keeps everything when maxHistory is 0 and no cap is set, as Logback does', () => {
    expect(filesKept(1024, 0, undefined)).toBeUndefined();
    expect(filesKept(1024, 0, 4096)).toBe(4);
  });
});
