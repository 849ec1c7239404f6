import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { StoredUpstreamAuth } from './server-auth';

/** Non-secret settings of a server registered through the API (`mcp_servers.configuration`). */
export interface StoredServerConfiguration {
  command?: string;
  args?: string[];
  url?: string;
  timeout?: number;
  pool_size?: number;
  working_directory?: string;
  required?: boolean;
  /** The upstream credential's settings without its client secret (that one is in `secrets`). */
  auth?: StoredUpstreamAuth;
}

/** A server registered through the API (migration InitialSchema); environment and header values sit in `secrets`. */
@Entity({ name: 'mcp_servers' })
export class McpServerEntity {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_mcp_servers' })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'varchar', length: 16 })
  type!: 'stdio' | 'http' | 'sse';

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  configuration!: StoredServerConfiguration;

  @Column({ type: 'bytea', nullable: true })
  secrets!: Buffer | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
