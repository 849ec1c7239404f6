import { Test } from '@nestjs/testing';
import { ConfigModule } from 'src/config/config.module';
import type { LoadedConfig } from 'src/config/config.loader';
import { appConfigSchema } from 'src/config/config.schema';
import { McpEngine } from '../mcp-engine';
import { McpEngineService } from '../mcp-engine.service';
import { McpModule } from '../mcp.module';
import { FIXTURES, isAlive, osChildren } from './helpers';

describe('McpModule', () => {
  it('starts the configured servers on bootstrap and reaps them on shutdown', async () => {
    const config = appConfigSchema.parse({
      mcp: {
        servers: {
          box: { type: 'stdio', command: process.execPath, args: [`${FIXTURES}/toolbox.js`], required: true },
          off: { type: 'stdio', command: process.execPath, args: [`${FIXTURES}/toolbox.js`], enabled: false },
          dead: { type: 'stdio', command: '/nonexistent/binary', required: true },
        },
        client: { defaultTimeout: 5_000 },
      },
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot({ config } as unknown as LoadedConfig), McpModule],
    }).compile();
    moduleRef.useLogger(false);
    const app = await moduleRef.init();
    const service = app.get(McpEngineService);
    const engine = app.get(McpEngine);
    await service.whenReady();
    expect(service.isReady).toBe(true);
    expect(engine.getServerState('box').status).toBe('active');
    expect(engine.getServerState('off').status).toBe('inactive');
    expect(engine.getServerState('dead').status).toBe('error');
    expect(engine.getServerState('dead').lastError).toMatch(/ENOENT|spawn|No such file/);
    const pids = engine.childPids();
    expect(pids).toHaveLength(1);
    await app.close();
    expect(pids.every((p) => !isAlive(p))).toBe(true);
    expect(osChildren()).toEqual([]);
  });
});
