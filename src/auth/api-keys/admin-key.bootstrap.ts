import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, LOADED_CONFIG } from 'src/config/config.module';
import type { LoadedConfig } from 'src/config/config.loader';
import type { AppConfig } from 'src/config/config.schema';
import { MIN_ADMIN_API_KEY_LENGTH } from 'src/config/validate-config';
import { ADMIN_SCOPE } from '../scopes';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key-format';
import type { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';

/** Name of the key row that stands for GLOBALMCP_ADMIN_API_KEY (a changed value revokes the old row). */
export const CONFIGURED_ADMIN_KEY_NAME = 'admin (GLOBALMCP_ADMIN_API_KEY)';
export const GENERATED_ADMIN_KEY_NAME = 'admin (generated on first start)';
const MIN_CONFIGURED_KEY_LENGTH = MIN_ADMIN_API_KEY_LENGTH;

/**
 * The first admin credential, without a manual step:
 * - `mcp.security.admin-api-key` (GLOBALMCP_ADMIN_API_KEY) when set: stored hashed, idempotent across restarts
 *   and replicas; a new value revokes the previous one (rotation = change the variable, restart);
 * - otherwise, when no usable admin key exists (first start), a generated key, printed once on stdout.
 * Every later start says which admin key exists and where it came from, and how to get a new one when it is lost
 * (the value itself is never logged).
 */
@Injectable()
export class AdminKeyBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOADED_CONFIG) private readonly loaded: LoadedConfig,
    private readonly keys: ApiKeysRepository,
  ) {
    const configured = config.mcp.security.adminApiKey;
    if (configured && configured.length < MIN_CONFIGURED_KEY_LENGTH && !loaded.profiles.includes('development')) {
      throw new Error(
        `mcp.security.admin-api-key (GLOBALMCP_ADMIN_API_KEY) is ${configured.length} characters: use at least ` +
          `${MIN_CONFIGURED_KEY_LENGTH} random characters (e.g. \`openssl rand -base64 32\`); shorter keys are only accepted with the development profile`,
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    const configured = this.config.mcp.security.adminApiKey;
    if (configured) await this.ensureConfiguredKey(configured);
    else await this.ensureSomeAdminKey();
  }

  private async ensureConfiguredKey(key: string): Promise<void> {
    const keyHash = hashApiKey(key);
    await this.keys.withBootstrapLock(async (manager) => {
      const existing = await this.keys.findByHashIn(manager, keyHash);
      if (existing?.revokedAt) {
        this.logger.warn('GLOBALMCP_ADMIN_API_KEY was revoked through the API: it stays revoked; set a new value');
      } else if (!existing) {
        await this.keys.insert(
          {
            id: randomUUID(),
            name: CONFIGURED_ADMIN_KEY_NAME,
            keyHash,
            prefix: displayPrefix(key),
            scopes: [ADMIN_SCOPE],
            tier: null,
            serverIds: null,
            expiresAt: null,
          },
          manager,
        );
        this.logger.log('Admin API key from GLOBALMCP_ADMIN_API_KEY stored (hashed)');
      } else {
        this.logger.log(
          `Admin API key: GLOBALMCP_ADMIN_API_KEY (${existing.prefix}…, stored ${existing.createdAt.toISOString()}). ` +
            'To replace it, set a new value and restart: the previous value is revoked at start.',
        );
      }
      const revoked = await this.keys.revokeOthersNamed(manager, CONFIGURED_ADMIN_KEY_NAME, keyHash);
      if (revoked > 0) this.logger.log(`Previous GLOBALMCP_ADMIN_API_KEY value revoked (${revoked} key)`);
    });
  }

  private async ensureSomeAdminKey(): Promise<void> {
    const key = await this.keys.withBootstrapLock(async (manager) => {
      const admins = await this.keys.activeAdmins(manager);
      if (admins.length > 0) {
        this.logger.log(existingAdminKeysLine(admins));
        return null;
      }
      const generated = generateApiKey();
      await this.keys.insert(
        {
          id: randomUUID(),
          name: GENERATED_ADMIN_KEY_NAME,
          keyHash: hashApiKey(generated),
          prefix: displayPrefix(generated),
          scopes: [ADMIN_SCOPE],
          tier: null,
          serverIds: null,
          expiresAt: null,
        },
        manager,
      );
      return generated;
    });
    if (!key) return;
    // Straight to stdout, not through the logger: log files and log shippers must never hold the key.
    const line = '='.repeat(78);
    process.stdout.write(
      `\n${line}\n  globalmcp: no admin API key existed, so one was generated. It is shown ONCE and stored only as a hash.\n\n` +
        `    X-API-Key: ${key}\n\n` +
        `  Create scoped keys with POST /api/api-keys, then revoke this one (DELETE /api/api-keys/{id}),\n` +
        `  or set GLOBALMCP_ADMIN_API_KEY to manage the admin key yourself.\n${line}\n\n`,
    );
    this.logger.log(`Generated the first admin API key ${displayPrefix(key)}… (printed once on stdout)`);
  }
}

/**
 * What a start that finds admin keys says: which ones (prefix, name, when), where a generated one was shown, and how
 * to get a new admin key when the value is lost (the database holds only its hash).
 */
export function existingAdminKeysLine(admins: Pick<ApiKeyEntity, 'id' | 'name' | 'prefix' | 'createdAt'>[]): string {
  const listed = admins
    .map((key) => {
      const origin =
        key.name === GENERATED_ADMIN_KEY_NAME
          ? 'generated and printed once on stdout at the first start'
          : key.name === CONFIGURED_ADMIN_KEY_NAME
            ? 'from GLOBALMCP_ADMIN_API_KEY, which is no longer set'
            : `"${key.name}", created through POST /api/api-keys`;
      return `${key.prefix}… (id ${key.id}; ${origin}, ${key.createdAt.toISOString()})`;
    })
    .join('; ');
  return (
    `Admin API key: none generated, ${admins.length === 1 ? 'one exists' : `${admins.length} exist`}: ${listed}. ` +
    'Lost it? Only its hash is stored, so it cannot be shown again: set GLOBALMCP_ADMIN_API_KEY to a new value ' +
    '(e.g. `openssl rand -base64 32`) and restart, which stores that value as an admin key; then revoke the lost ' +
    'one with DELETE /api/api-keys/{id}.'
  );
}
