import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export const SERVER_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

export class ServerIdParamDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, {
    message: 'id must be 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  })
  id!: string;
}
