import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import { VirtualServerEntity } from './virtual-server.entity';

/** Channel of the virtual servers' change notices; the payload is the changed id (every replica reloads them all). */
export const VIRTUAL_SERVERS_CHANNEL = 'globalmcp_virtual_servers';

export type NewVirtualServer = Omit<VirtualServerEntity, 'createdAt' | 'updatedAt'>;

/** Thrown by `insert` when the id is taken. */
export class DuplicateVirtualServerError extends Error {}

/** `virtual_servers`: every write notifies the other replicas in the same transaction. */
@Injectable()
export class VirtualServersRepository {
  constructor(
    @InjectRepository(VirtualServerEntity) private readonly repository: Repository<VirtualServerEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  listAll(): Promise<VirtualServerEntity[]> {
    return this.repository.find({ order: { id: 'ASC' } });
  }

  async insert(server: NewVirtualServer): Promise<VirtualServerEntity> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const now = new Date();
        const row = manager.create(VirtualServerEntity, { ...server, createdAt: now, updatedAt: now });
        // TypeORM's deep-partial type cannot follow `unknown` values inside jsonb (fixed arguments): the row is whole.
        await manager.insert(VirtualServerEntity, row as never);
        await notify(manager, server.id);
        return row;
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new DuplicateVirtualServerError(server.id);
      throw error;
    }
  }

  /** Replaces the definition; null when it does not exist. */
  update(server: NewVirtualServer): Promise<VirtualServerEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const existing = await manager.findOne(VirtualServerEntity, {
        where: { id: server.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!existing) return null;
      const row: VirtualServerEntity = { ...existing, ...server, updatedAt: new Date() };
      await manager.save(VirtualServerEntity, row);
      await notify(manager, server.id);
      return row;
    });
  }

  /** True when a row was deleted. */
  delete(id: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager.delete(VirtualServerEntity, { id });
      if (!result.affected) return false;
      await notify(manager, id);
      return true;
    });
  }
}

function notify(manager: EntityManager, id: string) {
  return manager.query('SELECT pg_notify($1, $2)', [VIRTUAL_SERVERS_CHANNEL, id]);
}
