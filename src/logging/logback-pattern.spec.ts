import { compileDateFormat } from './logback-date-format';
import { abbreviateLogger, compileLogbackPattern } from './logback-pattern';
import { GUIDE_GROK, GUIDE_PATTERN, STARTS_EVENT } from './logging.test-support';

const TIME = '2026-11-27T08:15:01.123Z';

describe('compileLogbackPattern', () => {
  it("renders the guide's production pattern so that its Logstash grok parses every field", () => {
    const layout = compileLogbackPattern(`%d{yyyy-MM-dd HH:mm:ss.SSS, UTC} [%thread] %-5level %logger{36} - %msg%n`);
    const line = layout.format({
      time: TIME,
      level: 'INFO',
      context: 'McpEngine',
      msg: 'MCP request to server fs: tools/list',
    });

    expect(line).toBe('2026-11-27 08:15:01.123 [main] INFO  McpEngine - MCP request to server fs: tools/list\n');
    const fields = GUIDE_GROK.exec(line.trimEnd())?.groups;
    expect(fields).toEqual({
      timestamp: '2026-11-27 08:15:01.123',
      thread: 'main',
      level: 'INFO',
      logger: ' McpEngine', // %-5level pads INFO; grok's lazy DATA keeps the pad, as with Logback's own lines
      content: 'MCP request to server fs: tools/list',
    });
  });

  it.each(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'])('keeps %s recognisable as a LOGLEVEL', (level) => {
    const line = compileLogbackPattern(GUIDE_PATTERN).format({
      time: TIME,
      level,
      context: 'ServersService',
      msg: 'x',
    });
    const fields = GUIDE_GROK.exec(line.trimEnd())?.groups;
    expect(fields?.level).toBe(level);
    expect(fields?.logger?.trim()).toBe('ServersService');
    expect(fields?.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/); // the guide's date filter format
  });

  it('appends extra fields to the message as key=value, quoting values that need it', () => {
    const line = compileLogbackPattern('%level %logger - %msg%n').format({
      time: TIME,
      level: 'WARN',
      context: 'McpEngine',
      msg: 'slow call',
      request_id: 'abc-1',
      durationMs: 1500,
      tool: 'read file',
      args: { path: '/tmp' },
    });
    expect(line).toBe(
      'WARN McpEngine - slow call request_id=abc-1 durationMs=1500 tool="read file" args={"path":"/tmp"}\n',
    );
  });

  it('shows %X{key} in place and leaves it out of the appended fields', () => {
    const layout = compileLogbackPattern('[%X{request_id}] [%X{missing:-none}] %msg%n');
    expect(layout.format({ time: TIME, level: 'INFO', msg: 'hi', request_id: 'r1', other: 1 })).toBe(
      '[r1] [none] hi other=1\n',
    );
  });

  it('puts the stack on the following lines, none of which can start a new event', () => {
    const err = new Error('boom');
    const line = compileLogbackPattern(GUIDE_PATTERN).format({
      time: TIME,
      level: 'ERROR',
      context: 'McpEngine',
      msg: 'call failed',
      err: { type: 'Error', message: err.message, stack: err.stack },
    });
    const [first, ...rest] = line.trimEnd().split('\n');
    expect(GUIDE_GROK.exec(first ?? '')?.groups?.content).toBe('call failed');
    expect(rest[0]).toBe('Error: boom');
    expect(rest.length).toBeGreaterThan(1);
    expect(rest.every((l) => !STARTS_EVENT.test(l))).toBe(true);
  });

  it('uses the error message when the record has no message of its own', () => {
    const line = compileLogbackPattern('%msg%n').format({
      level: 'ERROR',
      err: { message: 'boom', stack: 'Error: boom' },
    });
    expect(line).toBe('boom\nError: boom\n');
  });

  it('indents line breaks inside a message so a forged date cannot start a new event', () => {
    const line = compileLogbackPattern(GUIDE_PATTERN).format({
      time: TIME,
      level: 'INFO',
      msg: 'a\n2026-01-01 00:00:00.000 [main] ERROR x - forged',
    });
    const lines = line.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(STARTS_EVENT.test(lines[1] ?? '')).toBe(false);
  });

  it('renders %ex where the pattern places it instead of after the line', () => {
    const line = compileLogbackPattern('%msg%n%ex').format({
      level: 'ERROR',
      msg: 'x',
      err: { stack: 'Error: y\n    at z' },
    });
    expect(line).toBe('x\nError: y\n    at z\n');
  });

  it("renders Spring Boot's default console pattern without colours", () => {
    const pattern =
      '%clr(%d{yyyy-MM-dd HH:mm:ss.SSS, UTC}){faint} %clr(${LOG_LEVEL_PATTERN:-%5p}) %clr(${PID:- }){magenta} ' +
      '%clr(---){faint} %clr([%15.15t]){faint} %clr(%-40.40logger{39}){cyan} %clr(:){faint} %m%n';
    const line = compileLogbackPattern(pattern).format({
      time: TIME,
      level: 'INFO',
      context: 'McpEngine',
      msg: 'ready',
    });
    expect(line).toBe(
      `2026-11-27 08:15:01.123  INFO ${process.pid} --- [           main] ${'McpEngine'.padEnd(40)} : ready\n`,
    );
  });

  it('supports %d without a format (Logback ISO8601 with a comma), short aliases and truncation', () => {
    const layout = compileLogbackPattern('%d{ISO8601, UTC}|%d{HH:mm:ss.SSS, UTC}|%p|%c|%t|%m|%.3m|%.-3m|%%|%n');
    expect(layout.format({ time: TIME, level: 'DEBUG', context: 'Cache', msg: 'hello' })).toBe(
      '2026-11-27 08:15:01,123|08:15:01.123|DEBUG|Cache|main|hello|llo|hel|%|\n',
    );
  });

  it('always ends a line with a newline, even when the pattern has no %n', () => {
    expect(compileLogbackPattern('%msg').format({ msg: 'x' })).toBe('x\n');
  });

  it('names records without a context after the application', () => {
    expect(compileLogbackPattern('%logger').format({ msg: 'x' })).toBe('globalmcp\n');
  });
});

describe('compileDateFormat', () => {
  it('formats local time like SimpleDateFormat', () => {
    const date = new Date(2026, 10, 7, 8, 5, 3, 9);
    expect(compileDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSS")(date)).toBe('2026-11-07T08:05:03.009');
    expect(compileDateFormat('dd MMM yy hh a')(date)).toBe('07 Nov 26 08 AM');
  });

  it('writes Z for UTC with XXX', () => {
    expect(compileDateFormat('HH:mmXXX', true)(new Date(TIME))).toBe('08:15Z');
  });
});

describe('abbreviateLogger', () => {
  it('shortens package segments the way Logback does and never the class name', () => {
    expect(abbreviateLogger('com.deepai.mcpclient.service.McpEngine', 25)).toBe('c.d.m.service.McpEngine');
    expect(abbreviateLogger('com.deepai.McpEngine', 0)).toBe('McpEngine');
    expect(abbreviateLogger('McpEngine', 3)).toBe('McpEngine');
  });
});
