import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import { McpServerEntity } from './mcp-server.entity';

/** Channel of the registry's change notices; the payload is the changed server id. */
export const REGISTRY_CHANNEL = 'globalmcp_registry';

export type NewMcpServer = Omit<McpServerEntity, 'createdAt' | 'updatedAt'>;

/** Thrown by `insert` when the id is taken. */
export class DuplicateServerError extends Error {}

/** `mcp_servers`: every write notifies the other replicas in the same transaction. */
@Injectable()
export class McpServersRepository {
  constructor(
    @InjectRepository(McpServerEntity) private readonly repository: Repository<McpServerEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  findById(id: string): Promise<McpServerEntity | null> {
    return this.repository.findOneBy({ id });
  }

  listAll(): Promise<McpServerEntity[]> {
    return this.repository.find({ order: { id: 'ASC' } });
  }

  async insert(server: NewMcpServer): Promise<McpServerEntity> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const now = new Date();
        const row = manager.create(McpServerEntity, { ...server, createdAt: now, updatedAt: now });
        await manager.insert(McpServerEntity, row);
        await notify(manager, server.id);
        return row;
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new DuplicateServerError(server.id);
      throw error;
    }
  }

  /** Replaces the row's settings; null when it no longer exists. */
  update(server: NewMcpServer): Promise<McpServerEntity | null> {
    return this.dataSource.transaction(async (manager) => {
      const existing = await manager.findOne(McpServerEntity, {
        where: { id: server.id },
        lock: { mode: 'pessimistic_write' },
      });
      if (!existing) return null;
      const row = manager.merge(McpServerEntity, existing, { ...server, updatedAt: new Date() });
      await manager.save(McpServerEntity, row);
      await notify(manager, server.id);
      return row;
    });
  }

  /** True when a row was deleted. */
  delete(id: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager.delete(McpServerEntity, { id });
      if (!result.affected) return false;
      await notify(manager, id);
      return true;
    });
  }
}

function notify(manager: { query: (sql: string, params: unknown[]) => Promise<unknown> }, id: string) {
  return manager.query('SELECT pg_notify($1, $2)', [REGISTRY_CHANNEL, id]);
}
