import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { authenticationFailed } from '../auth-errors';
import type { Principal } from '../principal';
import { displayPrefix, generateApiKey, hashApiKey } from './api-key-format';
import type { ApiKeyEntity } from './api-key.entity';
import { ApiKeysRepository } from './api-keys.repository';
import type { ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

/** Verified keys are remembered this long, so a request costs no database round trip. */
const CACHE_TTL_MS = 5_000;
const CACHE_MAX_ENTRIES = 10_000;
/**
 * While the database does not answer, a key verified within this long still authenticates as it did: its revocation
 * could not have been written either, and calls go on through a database outage (their records are spooled).
 */
const STALE_IF_ERROR_MS = 15 * 60_000;
/** `last_used_at` is written at most this often per key, after the response (never on the hot path). */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

interface CachedKey {
  row: ApiKeyEntity;
  until: number;
}

/** API keys: creation (the key shown once), listing, revocation, and verification of `X-API-Key`. */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger('ApiKeys');
  private readonly cache = new Map<string, CachedKey>();
  private readonly lastUsedWritten = new Map<string, number>();
  private databaseAway = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ApiKeysRepository,
  ) {}

  async create(dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const tiers = this.config.mcp.security.rateLimiting.tiers;
    if (dto.tier !== undefined && !Object.hasOwn(tiers, dto.tier)) {
      throw AppException.invalid(`Unknown tier ${dto.tier}: one of ${Object.keys(tiers).join(', ')}`, {
        fields: [{ field: 'tier', problems: [`tier must be one of ${Object.keys(tiers).join(', ')}`] }],
      });
    }
    const expiresAt = dto.expires_at !== undefined ? new Date(dto.expires_at) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw AppException.invalid('expires_at must be in the future', {
        fields: [{ field: 'expires_at', problems: ['expires_at must be in the future'] }],
      });
    }
    const key = generateApiKey();
    const row = await this.keys.insert({
      id: randomUUID(),
      name: dto.name,
      keyHash: hashApiKey(key),
      prefix: displayPrefix(key),
      scopes: [...new Set(dto.scopes)],
      tier: dto.tier ?? null,
      serverIds: dto.server_ids ? [...new Set(dto.server_ids)] : null,
      expiresAt,
    });
    this.logger.log(`API key ${row.prefix}… (${row.name}) created with scopes ${row.scopes.join(' ')}`);
    return { ...toDto(row), key };
  }

  async list(): Promise<ApiKeyListDto> {
    const rows = await this.keys.listAll();
    return { api_keys: rows.map(toDto), total_count: rows.length };
  }

  async revoke(id: string): Promise<ApiKeyDto> {
    const row = await this.keys.revoke(id, new Date());
    if (!row) throw AppException.notFound(`API key ${id}`);
    // Forget it here at once; other replicas stop accepting it within CACHE_TTL_MS.
    for (const [hash, cached] of this.cache) if (cached.row.id === id) this.cache.delete(hash);
    this.logger.log(`API key ${row.prefix}… (${row.name}) revoked`);
    return toDto(row);
  }

  /** The principal of a presented key; 401 when it is unknown, revoked or expired. */
  async authenticate(presented: string): Promise<Principal> {
    const hash = hashApiKey(presented);
    const now = Date.now();
    const cached = this.cache.get(hash);
    let row = cached && cached.until > now ? cached.row : undefined;
    if (!row) {
      const found = await this.lookUp(hash, cached, now);
      if (!found) throw authenticationFailed('Invalid API key', 'unknown API key');
      row = found;
    }
    if (row.revokedAt) throw authenticationFailed('Invalid API key', 'API key revoked');
    if (row.expiresAt && row.expiresAt.getTime() <= now)
      throw authenticationFailed('Invalid API key', 'API key expired');
    this.noteUse(row.id, now);
    return {
      kind: 'api-key',
      id: `key:${row.id}`,
      subject: row.name,
      scopes: new Set(row.scopes),
      servers: row.serverIds ? new Set(row.serverIds) : null,
      tier: row.tier,
    };
  }

  /**
   * The key's row from the database (remembered for CACHE_TTL_MS); while the database does not answer, the row last
   * verified within STALE_IF_ERROR_MS, else 503 (an unknown key cannot be told from a valid one then).
   */
  private async lookUp(hash: string, cached: CachedKey | undefined, now: number): Promise<ApiKeyEntity | null> {
    let found: ApiKeyEntity | null;
    try {
      found = await this.keys.findByHash(hash);
    } catch (error) {
      if (!this.databaseAway) {
        this.databaseAway = true;
        this.logger.warn(
          `API keys cannot be looked up (${(error as Error).message}): keys verified in the last ` +
            `${STALE_IF_ERROR_MS / 60_000} min keep working until the database answers`,
        );
      }
      if (cached && now - cached.until < STALE_IF_ERROR_MS) return cached.row;
      throw new AppException(ErrorCode.SERVER_UNAVAILABLE, 'API keys cannot be verified now: the database is away');
    }
    if (this.databaseAway) {
      this.databaseAway = false;
      this.logger.log('API keys are looked up in the database again');
    }
    if (found) this.remember(hash, found, now);
    return found;
  }

  private remember(hash: string, row: ApiKeyEntity, now: number): void {
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(hash, { row, until: now + CACHE_TTL_MS });
  }

  /** Records `last_used_at` at most once a minute per key, in the background. */
  private noteUse(id: string, now: number): void {
    const last = this.lastUsedWritten.get(id) ?? 0;
    if (now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(id, now);
    setImmediate(() => {
      this.keys.touchLastUsed(id, new Date(now)).catch((error: unknown) => {
        this.logger.warn(`Could not record the use of API key ${id}: ${(error as Error).message}`);
      });
    });
  }
}

function toDto(row: ApiKeyEntity): ApiKeyDto {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: [...row.scopes],
    tier: row.tier,
    server_ids: row.serverIds ? [...row.serverIds] : null,
    expires_at: row.expiresAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    created_at: row.createdAt.toISOString(),
    revoked_at: row.revokedAt?.toISOString() ?? null,
  };
}
