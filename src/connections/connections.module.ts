import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from 'src/auth/auth.module';
import { USER_TOKEN_SOURCE } from 'src/mcp/credentials/user-token-source';
import { OAuthUserClient } from 'src/mcp/credentials/oauth-user-client';
import { RateLimitModule } from 'src/rate-limit/rate-limit.module';
import { ServersModule } from 'src/servers/servers.module';
import { ConnectionsController } from './connections.controller';
import { ConnectionsRepository } from './connections.repository';
import { ConnectionsService } from './connections.service';
import { UpstreamAuthorizationEntity } from './entities/upstream-authorization.entity';
import { UpstreamConnectionEntity } from './entities/upstream-connection.entity';
import { UpstreamOAuthClientEntity } from './entities/upstream-oauth-client.entity';
import { OAuthClients } from './oauth-clients';

/**
 * Users' authorisations of `oauth-user` upstreams (ADR 0011): `/api/connections` and the pages of the authorization
 * code flow, the sealed tokens per (principal, server). Global so that the call pipeline's credential stage finds the
 * `UserTokenSource` by its token without importing this module (calls -> connections would be a new arrow upwards).
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([UpstreamConnectionEntity, UpstreamOAuthClientEntity, UpstreamAuthorizationEntity]),
    ServersModule,
    // The confirmation page verifies the link's principal with the gateway's own credential verification.
    AuthModule,
    RateLimitModule,
  ],
  controllers: [ConnectionsController],
  providers: [
    ConnectionsRepository,
    ConnectionsService,
    OAuthClients,
    // One per application: it caches what discovery found per server (src/mcp/credentials, no Nest of its own).
    { provide: OAuthUserClient, useFactory: () => new OAuthUserClient() },
    { provide: USER_TOKEN_SOURCE, useExisting: ConnectionsService },
  ],
  exports: [USER_TOKEN_SOURCE],
})
export class ConnectionsModule {}
