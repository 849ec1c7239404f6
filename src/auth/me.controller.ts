import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from './authenticated.decorator';
import { CurrentPrincipal } from './current-principal.decorator';
import { PrincipalDto } from './dto/principal.dto';
import type { Principal } from './principal';

@ApiTags('Auth')
@Controller('api/auth')
export class MeController {
  @Get('me')
  // Any valid credential: a caller may always learn what it may do (no scope needed).
  @Authenticated({ scopes: [] })
  @ApiOperation({
    summary: 'Who am I',
    description:
      'The authenticated caller: how it proved itself, its scopes, server allow-list and tier. Never the credential.',
  })
  @ApiOkResponse({ type: PrincipalDto })
  me(@CurrentPrincipal() principal: Principal): PrincipalDto {
    return PrincipalDto.from(principal);
  }
}
