import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { VirtualPromptConfig, VirtualResourceConfig, VirtualToolConfig } from 'src/config/virtual-server.schema';

/** The members of a stored virtual server, as the API took them. */
export interface StoredVirtualDefinition {
  tools: VirtualToolConfig[];
  prompts: VirtualPromptConfig[];
  resources: VirtualResourceConfig[];
}

/** A virtual server defined through the API (migration VirtualServers). */
@Entity({ name: 'virtual_servers' })
export class VirtualServerEntity {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_virtual_servers' })
  id!: string;

  @Column({ type: 'varchar', length: 200, nullable: true })
  name!: string | null;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'jsonb' })
  definition!: StoredVirtualDefinition;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
