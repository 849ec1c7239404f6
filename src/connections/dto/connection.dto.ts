import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

/** One of the caller's authorisations of an `oauth-user` server. Never a token. */
export class ConnectionDto {
  @ApiProperty({ example: 'github' })
  server_id!: string;

  @ApiProperty({ example: 'https://auth.example.com', description: 'The authorization server that issued its tokens.' })
  issuer!: string;

  @ApiProperty({ type: [String], example: ['repo', 'read:user'], description: 'Scopes granted (as the server said).' })
  scopes!: string[];

  @ApiProperty({
    format: 'date-time',
    description: 'When the current access token expires (the gateway refreshes it shortly before).',
  })
  expires_at!: string;

  @ApiProperty({ format: 'date-time', description: 'When the user authorised the gateway.' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Last refresh, if any.' })
  refreshed_at!: string | null;
}

export class ConnectionListDto {
  @ApiProperty({ type: [ConnectionDto] })
  connections!: ConnectionDto[];
}

export class RevokedConnectionDto extends ConnectionDto {
  @ApiProperty({
    description: 'Whether the authorization server confirmed the revocation (RFC 7009); false when it offers none.',
  })
  revoked_at_authorization_server!: boolean;
}

/** A link the caller opens in a browser to authorise the gateway at a server (`POST /api/connections/{server_id}`). */
export class ConnectionLinkDto {
  @ApiProperty({ example: 'github' })
  server_id!: string;

  @ApiProperty({
    example: 'https://gateway.example.com/api/connections/start?link=AQ...',
    description: 'Open it in a browser: single-use, for the caller only.',
  })
  authorization_url!: string;

  @ApiProperty({ format: 'date-time', description: 'The link is refused after this.' })
  expires_at!: string;
}

export class ConnectionServerParamDto {
  @ApiProperty({ example: 'github', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, {
    message: 'server_id must be 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  })
  server_id!: string;
}
