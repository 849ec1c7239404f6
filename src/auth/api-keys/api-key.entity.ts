import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** An API key (migration ApiKeys): only the SHA-256 of the key is stored. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_api_keys' })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Index('uq_api_keys_key_hash', { unique: true })
  @Column({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @Column({ type: 'varchar', length: 16 })
  prefix!: string;

  @Column({ type: 'text', array: true })
  scopes!: string[];

  @Column({ type: 'varchar', length: 32, nullable: true })
  tier!: string | null;

  @Column({ name: 'server_ids', type: 'text', array: true, nullable: true })
  serverIds!: string[] | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
