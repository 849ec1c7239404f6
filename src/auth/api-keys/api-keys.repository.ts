import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type EntityManager, type Repository } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';

export type NewApiKey = Omit<ApiKeyEntity, 'lastUsedAt' | 'revokedAt' | 'createdAt'>;

/** Named queries over `api_keys`. */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectRepository(ApiKeyEntity) private readonly repository: Repository<ApiKeyEntity>) {}

  findByHash(keyHash: string): Promise<ApiKeyEntity | null> {
    return this.repository.findOneBy({ keyHash });
  }

  findById(id: string): Promise<ApiKeyEntity | null> {
    return this.repository.findOneBy({ id });
  }

  listAll(): Promise<ApiKeyEntity[]> {
    return this.repository.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async insert(key: NewApiKey, manager?: EntityManager): Promise<ApiKeyEntity> {
    const repository = manager ? manager.getRepository(ApiKeyEntity) : this.repository;
    await repository.insert(key);
    return await repository.findOneByOrFail({ id: key.id });
  }

  /** Marks the key revoked (once); returns the row, or null when there is no such key. */
  async revoke(id: string, at: Date): Promise<ApiKeyEntity | null> {
    await this.repository.update({ id, revokedAt: IsNull() }, { revokedAt: at });
    return this.findById(id);
  }

  async touchLastUsed(id: string, at: Date): Promise<void> {
    await this.repository.update({ id }, { lastUsedAt: at });
  }

  /**
   * Runs `work` in a transaction holding a cluster-wide advisory lock, so replicas starting together do not both
   * create a bootstrap admin key.
   */
  withBootstrapLock<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.repository.manager.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('globalmcp:bootstrap-admin-key'))`);
      return work(manager);
    });
  }

  /** The keys that are neither revoked nor expired and carry `mcp:admin`, oldest first (none: no admin can log in). */
  async activeAdmins(manager: EntityManager): Promise<Pick<ApiKeyEntity, 'id' | 'name' | 'prefix' | 'createdAt'>[]> {
    const rows: { id: string; name: string; prefix: string; created_at: Date }[] = await manager.query(
      `SELECT id, name, prefix, created_at FROM api_keys WHERE 'mcp:admin' = ANY(scopes) AND revoked_at IS NULL
          AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at, id`,
    );
    return rows.map((row) => ({ id: row.id, name: row.name, prefix: row.prefix, createdAt: row.created_at }));
  }

  /** Revokes the keys named `name` other than the one with `keepHash` (a rotated GLOBALMCP_ADMIN_API_KEY). */
  async revokeOthersNamed(manager: EntityManager, name: string, keepHash: string): Promise<number> {
    const result: [unknown[], number] = await manager.query(
      `UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND key_hash <> $2 AND revoked_at IS NULL`,
      [name, keepHash],
    );
    return result[1];
  }

  findByHashIn(manager: EntityManager, keyHash: string): Promise<ApiKeyEntity | null> {
    return manager.getRepository(ApiKeyEntity).findOneBy({ keyHash });
  }
}
