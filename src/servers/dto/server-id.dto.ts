import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

export class ServerIdParamDto {
  @ApiProperty({ example: 'everything', pattern: SERVER_ID_PATTERN.source })
  @Matches(SERVER_ID_PATTERN, {
    message: 'id must be 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  })
  id!: string;
}
