import { type DynamicModule, Global, Inject, Module } from '@nestjs/common';
import type { AppConfig } from './config.schema';
import type { LoadedConfig } from './config.loader';
import { ConfigServersSource } from './config-servers.source';

export const APP_CONFIG = Symbol('APP_CONFIG');
export const LOADED_CONFIG = Symbol('LOADED_CONFIG');

/** Injects the validated, frozen configuration: `constructor(@InjectConfig() private readonly config: AppConfig)`. */
export const InjectConfig = () => Inject(APP_CONFIG);

/**
 * Makes the configuration loaded once in `main.ts` available everywhere. It is loaded before Nest starts, so a
 * broken file stops the process before anything listens or spawns.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(loaded: LoadedConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: LOADED_CONFIG, useValue: loaded },
        { provide: APP_CONFIG, useValue: loaded.config satisfies AppConfig },
        // The config servers as of the last load or reload (src/reload): what the engine, the API and readiness list.
        { provide: ConfigServersSource, useValue: new ConfigServersSource(loaded.config.mcp?.servers ?? {}) },
      ],
      exports: [LOADED_CONFIG, APP_CONFIG, ConfigServersSource],
    };
  }
}
