import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RateLimitModule } from 'src/rate-limit/rate-limit.module';
import { AdminKeyBootstrap } from './api-keys/admin-key.bootstrap';
import { ApiKeyEntity } from './api-keys/api-key.entity';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApiKeysRepository } from './api-keys/api-keys.repository';
import { ApiKeysService } from './api-keys/api-keys.service';
import { AuthGuard } from './auth.guard';
import { CredentialVerifier } from './credential-verifier';
import { MeController } from './me.controller';
import { ApiKeyStrategy } from './strategies/api-key.strategy';
import { Hs256JwtStrategy } from './strategies/hs256-jwt.strategy';
import { JwksKeyResolver } from './strategies/jwks-key.resolver';
import { OAuth2JwtStrategy } from './strategies/oauth2-jwt.strategy';

/**
 * Authentication (API keys, HS256 JWTs, OAuth2 access tokens) and authorization (scopes, server allow-lists)
 * for every route of the API listener, through one global guard that denies by default. The management
 * listener is a separate application and is not affected.
 */
@Module({
  imports: [PassportModule, RateLimitModule, TypeOrmModule.forFeature([ApiKeyEntity])],
  controllers: [ApiKeysController, MeController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    AdminKeyBootstrap,
    JwksKeyResolver,
    ApiKeyStrategy,
    Hs256JwtStrategy,
    OAuth2JwtStrategy,
    CredentialVerifier,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [ApiKeysService, CredentialVerifier],
})
export class AuthModule {}
