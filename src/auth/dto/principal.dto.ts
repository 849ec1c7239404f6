import { ApiProperty } from '@nestjs/swagger';
import { SCOPES } from '../scopes';
import type { Principal, PrincipalKind } from '../principal';

/** The caller as the gateway sees it: what a console or a script needs to know what it may do. */
export class PrincipalDto {
  @ApiProperty({ enum: ['api-key', 'jwt', 'oauth2'], example: 'api-key' })
  kind!: PrincipalKind;

  @ApiProperty({ description: 'Key name or token subject', example: 'ci-pipeline' })
  subject!: string;

  @ApiProperty({ type: [String], example: ['mcp:read', 'mcp:write'], description: `Of ${SCOPES.join(', ')}` })
  scopes!: string[];

  @ApiProperty({
    type: [String],
    nullable: true,
    example: null,
    description: 'Servers this caller may see and use; null: every server',
  })
  servers!: string[] | null;

  @ApiProperty({ type: String, nullable: true, example: 'pro', description: 'Rate-limit tier; null: the defaults' })
  tier!: string | null;

  static from(principal: Principal): PrincipalDto {
    return {
      kind: principal.kind,
      subject: principal.subject,
      scopes: [...principal.scopes].sort(),
      servers: principal.servers ? [...principal.servers].sort() : null,
      tier: principal.tier,
    };
  }
}
