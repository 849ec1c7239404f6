import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One user's authorisation of the gateway at an `oauth-user` upstream (migration UpstreamConnections): its tokens,
 * sealed (AES-256-GCM, bound to the server and principal), and what the list shows of it. Never a token in clear.
 */
@Entity({ name: 'upstream_connections' })
@Index('ix_upstream_connections_server', ['serverId'])
export class UpstreamConnectionEntity {
  @PrimaryColumn({
    name: 'principal_id',
    type: 'varchar',
    length: 512,
    primaryKeyConstraintName: 'pk_upstream_connections',
  })
  principalId!: string;

  @PrimaryColumn({
    name: 'server_id',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_upstream_connections',
  })
  serverId!: string;

  /** The authorization server that issued the tokens. */
  @Column({ type: 'text' })
  issuer!: string;

  /** The gateway's client id there (the tokens are refreshed and revoked with it). */
  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ type: 'text', nullable: true })
  scope!: string | null;

  /** `{access_token, refresh_token}` sealed by SecretsCipher with `<server>\0<principal>` as additional data. */
  @Column({ type: 'bytea' })
  tokens!: Buffer;

  /** When the access token expires. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'refreshed_at', type: 'timestamptz', nullable: true })
  refreshedAt!: Date | null;
}
