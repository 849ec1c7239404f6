import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { UpstreamAuthorizationEntity } from './entities/upstream-authorization.entity';
import { UpstreamConnectionEntity } from './entities/upstream-connection.entity';
import { UpstreamOAuthClientEntity } from './entities/upstream-oauth-client.entity';

export type NewAuthorization = Omit<UpstreamAuthorizationEntity, 'consumedAt' | 'createdAt'>;

/** What a locked unit of work on a connection decided. */
export type LockedOutcome<T> =
  { result: T; update?: Partial<UpstreamConnectionEntity> } | { error: unknown; delete?: boolean };

/** What ending an authorization found: the row it ended, or why there was none to end. */
export type ConsumedAuthorization =
  { ok: true; row: UpstreamAuthorizationEntity } | { ok: false; why: 'unknown' | 'used' | 'expired' };

/** Named queries over `upstream_connections`, `upstream_oauth_clients` and `upstream_authorizations`. */
@Injectable()
export class ConnectionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get connections() {
    return this.dataSource.getRepository(UpstreamConnectionEntity);
  }

  findConnection(principalId: string, serverId: string): Promise<UpstreamConnectionEntity | null> {
    return this.connections.findOneBy({ principalId, serverId });
  }

  listByPrincipal(principalId: string): Promise<UpstreamConnectionEntity[]> {
    return this.connections.find({ where: { principalId }, order: { serverId: 'ASC' } });
  }

  /** Stores a user's authorisation (a new one replaces the old: one per principal and server). */
  async saveConnection(row: Omit<UpstreamConnectionEntity, 'createdAt'>): Promise<void> {
    await this.connections.upsert({ ...row, createdAt: new Date() }, ['principalId', 'serverId']);
  }

  /** Marks the access token expired (the upstream refused it): the next use refreshes it first. */
  async expireConnection(principalId: string, serverId: string): Promise<void> {
    await this.connections.update({ principalId, serverId }, { expiresAt: new Date() });
  }

  /** Deletes the user's authorisation; the deleted row, or null when there was none. */
  async deleteConnection(principalId: string, serverId: string): Promise<UpstreamConnectionEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const row = await manager
        .getRepository(UpstreamConnectionEntity)
        .findOne({ where: { principalId, serverId }, lock: { mode: 'pessimistic_write' } });
      if (row) await manager.getRepository(UpstreamConnectionEntity).delete({ principalId, serverId });
      return row;
    });
  }

  /**
   * Runs `work` with the row locked (SELECT ... FOR UPDATE), so one replica at a time refreshes a user's tokens: a
   * rotated refresh token is used once. `work` says what to write (`update`) or to delete the row (`delete`); its
   * `error`, if any, is thrown once that is committed (a dead refresh token is forgotten, then the caller is asked).
   */
  async withLockedConnection<T>(
    principalId: string,
    serverId: string,
    work: (row: UpstreamConnectionEntity | null) => Promise<LockedOutcome<T>>,
  ): Promise<T> {
    const outcome = await this.dataSource.transaction(async (manager: EntityManager) => {
      const repository = manager.getRepository(UpstreamConnectionEntity);
      const row = await repository.findOne({ where: { principalId, serverId }, lock: { mode: 'pessimistic_write' } });
      const done = await work(row);
      if (row && 'error' in done && done.delete) await repository.delete({ principalId, serverId });
      else if (row && 'result' in done && done.update) await repository.update({ principalId, serverId }, done.update);
      return done;
    });
    if ('error' in outcome) throw outcome.error;
    return outcome.result;
  }

  findClient(id: string): Promise<UpstreamOAuthClientEntity | null> {
    return this.dataSource.getRepository(UpstreamOAuthClientEntity).findOneBy({ id });
  }

  findClientByClientId(serverId: string, issuer: string, clientId: string): Promise<UpstreamOAuthClientEntity | null> {
    return this.dataSource.getRepository(UpstreamOAuthClientEntity).findOneBy({ serverId, issuer, clientId });
  }

  /** Stores a registered client unless another replica stored one first; the one stored. */
  async saveClient(row: Omit<UpstreamOAuthClientEntity, 'createdAt'>): Promise<UpstreamOAuthClientEntity> {
    const repository = this.dataSource.getRepository(UpstreamOAuthClientEntity);
    await repository.createQueryBuilder().insert().values(row).orIgnore().execute();
    return repository.findOneByOrFail({ id: row.id });
  }

  /** Starts an authorization; false when the link's nonce already started one. Expired rows go first. */
  async insertAuthorization(row: NewAuthorization): Promise<boolean> {
    const repository = this.dataSource.getRepository(UpstreamAuthorizationEntity);
    await repository.createQueryBuilder().delete().where('expires_at < now()').execute();
    const result = await repository
      .createQueryBuilder()
      .insert()
      .values(row)
      .orIgnore()
      .returning(['state_hash'])
      .execute();
    return (result.raw as unknown[]).length > 0;
  }

  /** Ends an authorization by its state, once: a second redirect with the same state finds it used. */
  async consumeAuthorization(stateHash: string): Promise<ConsumedAuthorization> {
    const repository = this.dataSource.getRepository(UpstreamAuthorizationEntity);
    const result = await repository
      .createQueryBuilder()
      .update()
      .set({ consumedAt: () => 'now()' })
      .where('state_hash = :stateHash AND consumed_at IS NULL AND expires_at > now()', { stateHash })
      .returning('*')
      .execute();
    const raw = (result.raw as Record<string, unknown>[])[0];
    if (raw) {
      const row = repository.create(
        repository.manager.connection
          .getMetadata(UpstreamAuthorizationEntity)
          .columns.reduce<Record<string, unknown>>((acc, column) => {
            acc[column.propertyName] = raw[column.databaseName];
            return acc;
          }, {}),
      );
      return { ok: true, row };
    }
    const existing = await repository.findOneBy({ stateHash });
    if (!existing) return { ok: false, why: 'unknown' };
    return { ok: false, why: existing.consumedAt ? 'used' : 'expired' };
  }
}
