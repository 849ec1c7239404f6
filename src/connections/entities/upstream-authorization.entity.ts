import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * An authorization in progress (migration UpstreamConnections): started when a user opened the gateway's link, ended
 * (`consumed_at`) by the first redirect back with its `state`. Only hashes of the state, of the link's nonce and of
 * the browser's cookie are kept; the PKCE verifier is sealed. Rows go once expired.
 */
@Entity({ name: 'upstream_authorizations' })
export class UpstreamAuthorizationEntity {
  /** SHA-256 (hex) of the `state` sent to the authorization server. */
  @PrimaryColumn({
    name: 'state_hash',
    type: 'varchar',
    length: 64,
    primaryKeyConstraintName: 'pk_upstream_authorizations',
  })
  stateHash!: string;

  /** The nonce of the link that started it: a link starts one authorization only. */
  @Index('uq_upstream_authorizations_link', { unique: true })
  @Column({ name: 'link_nonce', type: 'varchar', length: 64 })
  linkNonce!: string;

  @Column({ name: 'principal_id', type: 'varchar', length: 512 })
  principalId!: string;

  @Column({ name: 'server_id', type: 'varchar', length: 64 })
  serverId!: string;

  /** SHA-256 (hex) of the browser-binding cookie set when the link was opened. */
  @Column({ name: 'browser_hash', type: 'varchar', length: 64 })
  browserHash!: string;

  /** The PKCE code verifier, sealed with the state hash as additional data. */
  @Column({ type: 'bytea' })
  verifier!: Buffer;

  @Column({ name: 'redirect_uri', type: 'text' })
  redirectUri!: string;

  @Column({ type: 'text' })
  issuer!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Index('ix_upstream_authorizations_expires')
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: 'timestamptz', nullable: true })
  consumedAt!: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
