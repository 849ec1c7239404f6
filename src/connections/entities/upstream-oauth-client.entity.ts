import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The gateway's client at an authorization server, registered dynamically (RFC 7591) for one `oauth-user` server and
 * callback URL (migration UpstreamConnections); every replica uses the same one. Its secret, if any, is sealed.
 */
@Entity({ name: 'upstream_oauth_clients' })
export class UpstreamOAuthClientEntity {
  /** SHA-256 (hex) of server id, issuer and redirect URI: what the registration is for. */
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_upstream_oauth_clients' })
  id!: string;

  @Column({ name: 'server_id', type: 'varchar', length: 64 })
  serverId!: string;

  @Column({ type: 'text' })
  issuer!: string;

  @Column({ name: 'redirect_uri', type: 'text' })
  redirectUri!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ name: 'client_secret', type: 'bytea', nullable: true })
  clientSecret!: Buffer | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
