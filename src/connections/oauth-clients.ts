import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { sha256 } from './sealed-tokens';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppException } from 'src/common/errors/app.exception';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig, ServerEntry } from 'src/config/config.schema';
import {
  type AuthorizationServerInfo,
  type OAuthClientRegistration,
  OAuthUserClient,
} from 'src/mcp/credentials/oauth-user-client';
import { EngineError } from 'src/mcp/engine-error';
import { SecretsCipher } from 'src/servers/registry/secrets-cipher';
import { ServersService } from 'src/servers/servers.service';
import { ConnectionsRepository } from './connections.repository';

export const CALLBACK_PATH = '/api/connections/callback';
export const CLIENT_METADATA_PATH = '/api/connections/client-metadata';

/**
 * Who the gateway is at an `oauth-user` server's authorization server (ADR 0011), in the MCP authorization
 * specification's order: the configured client, else its Client ID Metadata Document (served here), else a client
 * registered dynamically (RFC 7591, stored sealed and shared by replicas); and the callback URL it registers.
 */
@Injectable()
export class OAuthClients {
  private readonly logger = new Logger('Connections');
  private readonly cipher: SecretsCipher;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: ConnectionsRepository,
    private readonly servers: ServersService,
    private readonly oauth: OAuthUserClient,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.cipher = SecretsCipher.load(config.mcp.security.encryptionKey, config.mcp.dataDir).cipher;
  }

  /** The gateway's client for `server`: the configured one, else one registered dynamically (stored, shared). */
  async clientFor(
    serverId: string,
    entry: ServerEntry,
    server: AuthorizationServerInfo,
    redirectUri: string,
  ): Promise<OAuthClientRegistration> {
    const auth = entry.auth!;
    if (auth.clientId) {
      const methods = server.metadata.token_endpoint_auth_methods_supported;
      if (!auth.clientSecret && methods && !methods.includes('none'))
        throw EngineError.unavailable(
          serverId,
          `its authorization server at ${new URL(server.issuer).host} takes no public clients: auth.client-secret is needed for client '${auth.clientId}'`,
          { reason: 'client-secret-required' },
        );
      return { clientId: auth.clientId, ...(auth.clientSecret ? { clientSecret: auth.clientSecret } : {}) };
    }
    // A Client ID Metadata Document where the server takes one: the gateway's client id is the URL of its document
    // (https; plain http only toward a plain-http authorization server, a loopback test, as for its other requests).
    const documentUrl = this.metadataDocumentUrl(serverId, redirectUri);
    if (
      server.metadata.client_id_metadata_document_supported === true &&
      (documentUrl.startsWith('https:') || server.issuer.startsWith('http:'))
    )
      return { clientId: documentUrl };
    const id = sha256(JSON.stringify([serverId, server.issuer, redirectUri]));
    const known = await this.repository.findClient(id);
    if (known) return this.openClient(known.clientId, known.clientSecret, id);
    if (!this.oauth.canRegister(server))
      throw EngineError.unavailable(
        serverId,
        `its authorization server at ${new URL(server.issuer).host} offers no dynamic client registration: configure auth.client-id`,
        { reason: 'client-registration-unavailable' },
      );
    const registered = await this.oauth.register(serverId, server, redirectUri, auth.scope);
    this.logger.log(`[${serverId}] registered the gateway as client '${registered.clientId}' at ${server.issuer}`);
    const row = await this.repository.saveClient({
      id,
      serverId,
      issuer: server.issuer,
      redirectUri,
      clientId: registered.clientId,
      clientSecret: registered.clientSecret ? this.cipher.sealText(registered.clientSecret, id) : null,
    });
    return this.openClient(row.clientId, row.clientSecret, id);
  }

  /**
   * The client a connection's tokens were issued to (`clientId` as stored with them), for their refresh and
   * revocation: the configured one, a registered one (its secret from `upstream_oauth_clients`), or a public one (a
   * metadata document URL, a public registration). Not re-derived from this replica's callback URL, which another
   * replica may not share.
   */
  async clientById(
    serverId: string,
    entry: ServerEntry,
    issuer: string,
    clientId: string,
  ): Promise<OAuthClientRegistration> {
    const auth = entry.auth!;
    if (auth.clientId === clientId)
      return { clientId, ...(auth.clientSecret ? { clientSecret: auth.clientSecret } : {}) };
    const registered = await this.repository.findClientByClientId(serverId, issuer, clientId);
    return registered ? this.openClient(registered.clientId, registered.clientSecret, registered.id) : { clientId };
  }

  /**
   * The gateway's Client ID Metadata Document for a server (draft-ietf-oauth-client-id-metadata-document): its own URL
   * as `client_id`, the server's callback, a public client (PKCE). 404 for a server that is not `oauth-user`.
   */
  clientMetadata(serverId: string): Record<string, unknown> {
    const entry = this.entryOf(serverId);
    if (entry?.auth?.mode !== 'oauth-user' || entry.auth.clientId)
      throw AppException.notFound(`Client metadata of server '${serverId}'`, { server_id: serverId });
    const redirectUri = this.redirectUri(entry);
    return {
      client_id: this.metadataDocumentUrl(serverId, redirectUri),
      client_name: 'globalmcp',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(entry.auth.scope ? { scope: entry.auth.scope } : {}),
    };
  }

  private metadataDocumentUrl(serverId: string, redirectUri: string): string {
    return `${new URL(redirectUri).origin}${CLIENT_METADATA_PATH}/${encodeURIComponent(serverId)}`;
  }

  private openClient(clientId: string, secret: Buffer | null, id: string): OAuthClientRegistration {
    return { clientId, ...(secret ? { clientSecret: this.cipher.openText(secret, id) } : {}) };
  }

  /** The gateway's callback for a server: configured, or the API listener's own address. */
  redirectUri(entry: ServerEntry): string {
    if (entry.auth?.redirectUri) return entry.auth.redirectUri;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    const address: AddressInfo | string | null | undefined = server?.address();
    if (!address || typeof address === 'string')
      throw EngineError.unavailable('gateway', 'the API listener has no address yet: configure auth.redirect-uri');
    const host = ['0.0.0.0', '::'].includes(address.address)
      ? 'localhost'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
    const scheme = this.config.server.ssl.enabled ? 'https' : 'http';
    return `${scheme}://${host}:${address.port}${CALLBACK_PATH}`;
  }

  private entryOf(serverId: string): ServerEntry | undefined {
    try {
      return this.servers.find(serverId).entry;
    } catch {
      return undefined;
    }
  }
}
