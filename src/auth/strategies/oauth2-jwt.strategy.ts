import { Inject, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Algorithm } from 'jsonwebtoken';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { type TokenClaims, type VerifiedToken, verifiedTokenFromClaims } from '../jwt-claims';
import { JwksKeyResolver } from './jwks-key.resolver';
import { type KeyCallback, passKey } from './verification-key';

export const OAUTH2_STRATEGY = 'jwt-oauth2';

/** Only public-key algorithms: an HS* entry would let a token "signed" with the issuer's public key pass. */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);

/**
 * Access tokens of an external OAuth2 issuer (`spring.security.oauth2.resourceserver.jwt.*`): signature checked
 * against the issuer's JWKS with the configured asymmetric algorithms (RS256/ES256 by default), `iss` and `aud`
 * checked, exp/nbf/iat with `mcp.security.jwt.clock-skew`. `alg: none` is never in the list.
 */
@Injectable()
export class OAuth2JwtStrategy extends PassportStrategy(Strategy, OAUTH2_STRATEGY) {
  private readonly clockSkewMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig, jwks: JwksKeyResolver) {
    const settings = config.spring.security.oauth2.resourceserver.jwt;
    const algorithms = settings.jwsAlgorithms.filter((alg) => ASYMMETRIC.has(alg)) as Algorithm[];
    const refused = settings.jwsAlgorithms.filter((alg) => !ASYMMETRIC.has(alg));
    if (refused.length > 0) {
      new Logger('Auth').warn(`jws-algorithms: ${refused.join(', ')} ignored (only RS*, PS* and ES* are accepted)`);
    }
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request: unknown, token: string, done: KeyCallback) => {
        jwks.keyFor(token).then(
          (key) => passKey(done, key),
          (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
        );
      },
      algorithms: algorithms.length > 0 ? algorithms : ['RS256', 'ES256'],
      issuer: settings.issuerUri,
      audience: settings.audiences.length > 0 ? settings.audiences : undefined,
      jsonWebTokenOptions: { clockTolerance: Math.ceil(config.mcp.security.jwt.clockSkew / 1000) },
    });
    this.clockSkewMs = config.mcp.security.jwt.clockSkew;
  }

  validate(claims: TokenClaims): VerifiedToken {
    return verifiedTokenFromClaims('oauth2', claims, this.clockSkewMs);
  }
}
