import { Inject, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { createSecretKey } from 'node:crypto';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, LOADED_CONFIG } from 'src/config/config.module';
import type { LoadedConfig } from 'src/config/config.loader';
import type { AppConfig } from 'src/config/config.schema';
import { MIN_JWT_SECRET_BYTES } from 'src/config/validate-config';
import { type TokenClaims, type VerifiedToken, verifiedTokenFromClaims } from '../jwt-claims';
import { type KeyCallback, passKey } from './verification-key';

export const HS256_STRATEGY = 'jwt-hs256';
/** The same bound `--validate-config` reports (one constant for both). */
export const MIN_SECRET_BYTES = MIN_JWT_SECRET_BYTES;

/**
 * The configured HS256 secret, or undefined when HS256 tokens are off (no secret: the default start). A secret
 * shorter than 32 bytes stops the start, except with the development profile.
 */
export function hs256SecretFrom(config: AppConfig, profiles: readonly string[]): string | undefined {
  const secret = config.mcp.security.jwt.secret;
  if (!secret) return undefined;
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_SECRET_BYTES) {
    if (!profiles.includes('development')) {
      throw new Error(
        `mcp.security.jwt.secret (JWT_SECRET) is ${bytes} bytes: HS256 needs at least ${MIN_SECRET_BYTES} ` +
          '(e.g. `openssl rand -base64 48`); shorter secrets are only accepted with the development profile',
      );
    }
    new Logger('Auth').warn(
      `mcp.security.jwt.secret is ${bytes} bytes: accepted only because of the development profile`,
    );
  }
  return secret;
}

/** `Authorization: Bearer` tokens signed with `mcp.security.jwt.secret` (HS256 only; exp/nbf/iat with clock skew). */
@Injectable()
export class Hs256JwtStrategy extends PassportStrategy(Strategy, HS256_STRATEGY) {
  private readonly clockSkewMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig, @Inject(LOADED_CONFIG) loaded: LoadedConfig) {
    const secret = hs256SecretFrom(config, loaded.profiles);
    const key = secret ? createSecretKey(Buffer.from(secret, 'utf8')) : undefined;
    const jwt = config.mcp.security.jwt;
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request: unknown, _token: unknown, done: KeyCallback) =>
        key
          ? passKey(done, key)
          : done(new Error('HS256 tokens are not accepted: mcp.security.jwt.secret is not configured')),
      algorithms: ['HS256'],
      issuer: jwt.issuer || undefined,
      audience: jwt.audience || undefined,
      jsonWebTokenOptions: { clockTolerance: Math.ceil(jwt.clockSkew / 1000) },
    });
    this.clockSkewMs = jwt.clockSkew;
  }

  validate(claims: TokenClaims): VerifiedToken {
    return verifiedTokenFromClaims('jwt', claims, this.clockSkewMs);
  }
}
