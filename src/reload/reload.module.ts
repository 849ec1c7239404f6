import { Global, Module } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import {
  CONFIG_LAST_RELOAD_SUCCESS,
  CONFIG_LAST_RELOAD_TIMESTAMP,
  CONFIG_RELOAD_FAILURES,
} from 'src/metrics/metric-names';
import { ConfigReloadService } from './config-reload.service';
import { ConfigWatcherService } from './config-watcher.service';

/**
 * Configuration reload: SIGHUP (main.ts calls `ConfigReloadService.reload`) and the file watcher. The servers
 * it changes live in `ConfigServersSource`, provided with the configuration itself (ConfigModule).
 */
@Global()
@Module({
  providers: [
    makeCounterProvider({
      name: CONFIG_RELOAD_FAILURES,
      help: 'Configuration reloads (SIGHUP or file change) refused because the new configuration is invalid',
    }),
    makeGaugeProvider({
      name: CONFIG_LAST_RELOAD_SUCCESS,
      help: 'Whether the last configuration load or reload succeeded (1) or was refused (0)',
    }),
    makeGaugeProvider({
      name: CONFIG_LAST_RELOAD_TIMESTAMP,
      help: 'Unix time of the last configuration load or reload attempt',
    }),
    ConfigReloadService,
    ConfigWatcherService,
  ],
  exports: [ConfigReloadService, ConfigWatcherService],
})
export class ReloadModule {}
