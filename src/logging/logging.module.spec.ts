import { Controller, Get, Logger, Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type pino from 'pino';
import { requestIdFor } from 'src/common/http/request-id';
import { ConfigModule } from 'src/config/config.module';
import type { LoadedConfig } from 'src/config/config.loader';
import { createRootLogger } from './logger.factory';
import { applyLogger, closeLogging, LoggingModule, ROOT_LOGGER } from './logging.module';
import { CapturedOutput, configWithLogging } from './logging.test-support';

@Controller('api/things')
class ThingsController {
  private readonly logger = new Logger('McpEngine');

  @Get()
  list(): string[] {
    this.logger.debug('listing things');
    return [];
  }
}

@Module({ controllers: [ThingsController] })
class ThingsModule {}

describe('LoggingModule', () => {
  let app: NestFastifyApplication;
  let output: CapturedOutput;

  beforeAll(async () => {
    const config = configWithLogging({ level: { root: 'INFO', McpEngine: 'DEBUG' } });
    output = new CapturedOutput();
    const root: pino.Logger = createRootLogger(config, { console: output });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot({ config } as LoadedConfig), LoggingModule, ThingsModule],
    })
      .overrideProvider(ROOT_LOGGER)
      .useValue(root)
      .compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter({ genReqId: requestIdFor } as ConstructorParameters<typeof FastifyAdapter>[0]),
      {
        bufferLogs: true,
      },
    );
    applyLogger(app);
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app.close();
    await closeLogging(app);
  });

  it("routes Nest's logger through the root logger, with the request id and per-context levels", async () => {
    // Real HTTP on loopback (light-my-request's ESM dependency does not load under this jest setup).
    const response = await fetch(`${await app.getUrl()}/api/things`, {
      headers: { 'x-request-id': 'req-7', connection: 'close' },
    });
    expect(response.status).toBe(200);
    await response.text();
    await new Promise((resolve) => setImmediate(resolve));
    const lines = output.records.filter((r) => r.request_id === 'req-7');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'DEBUG', context: 'McpEngine', msg: 'listing things' }),
      expect.objectContaining({
        level: 'INFO',
        context: 'HttpRequest',
        method: 'GET',
        url: '/api/things',
        status: 200,
      }),
    ]);
  });
});
