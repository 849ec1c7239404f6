import type { LoggerService } from '@nestjs/common';
import type pino from 'pino';
import { BootLogBuffer } from './boot-log-buffer';
import { createRootLogger } from './logger.factory';
import { CapturedOutput, configWithLogging } from './logging.test-support';

/** Nest's logger calling convention (context last) over a pino logger, as nestjs-pino does. */
const nestStyle = (root: pino.Logger): LoggerService => ({
  log: (message: string, context: string) => root.info({ context }, message),
  error: (message: string, context: string) => root.error({ context }, message),
  warn: (message: string, context: string) => root.warn({ context }, message),
});

function rootLogger(level: Record<string, string>) {
  const output = new CapturedOutput();
  return { output, root: createRootLogger(configWithLogging({ level }), { console: output }) };
}

describe('BootLogBuffer', () => {
  afterEach(() => jest.useRealTimers());

  it('replays the lines of a start with the time each was logged, not the time of the replay', () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T10:00:00.000Z') });
    const boot = new BootLogBuffer();
    boot.log('Initialising a new PostgreSQL cluster', 'EmbeddedPostgres');
    jest.setSystemTime(new Date('2026-12-07T10:00:05.348Z'));
    boot.warn('Cluster initialised in 5348 ms', 'EmbeddedPostgres');
    jest.setSystemTime(new Date('2026-12-07T10:00:09.000Z'));
    const { output, root } = rootLogger({ root: 'INFO' });
    boot.replayInto(nestStyle(root));
    root.info({ context: 'Bootstrap' }, 'ready');

    expect(output.records.map((r) => [r.time, r.level, r.msg])).toEqual([
      ['2026-12-07T10:00:00.000Z', 'INFO', 'Initialising a new PostgreSQL cluster'],
      ['2026-12-07T10:00:05.348Z', 'WARN', 'Cluster initialised in 5348 ms'],
      ['2026-12-07T10:00:09.000Z', 'INFO', 'ready'],
    ]);
  });
});

describe("Nest's route-mapping lines", () => {
  it('are DEBUG: left out at the default INFO, shown when their context asks for DEBUG', () => {
    const quiet = rootLogger({ root: 'INFO' });
    quiet.root.info({ context: 'RouterExplorer' }, 'Mapped {/api/tools, GET} route');
    quiet.root.info({ context: 'RoutesResolver' }, 'ToolsController {/api}:');
    quiet.root.info({ context: 'NestApplication' }, 'Nest application successfully started');
    expect(quiet.output.records.map((r) => r.msg)).toEqual(['Nest application successfully started']);

    const verbose = rootLogger({ root: 'INFO', RouterExplorer: 'DEBUG' });
    verbose.root.info({ context: 'RouterExplorer' }, 'Mapped {/api/tools, GET} route');
    expect(verbose.output.records).toEqual([
      expect.objectContaining({ level: 'DEBUG', context: 'RouterExplorer', msg: 'Mapped {/api/tools, GET} route' }),
    ]);
  });
});
