import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import { Authenticated } from '../authenticated.decorator';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, ApiKeyIdParamDto, ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

@ApiTags('API keys')
@Controller('api/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @HttpCode(201)
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Create an API key',
    description: 'The key is in this response only; the gateway keeps its SHA-256. Send it as `X-API-Key`.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrorResponses(400)
  createApiKey(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.apiKeys.create(body);
  }

  @Get()
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'List API keys', description: 'Never the keys themselves: their prefix, scopes and use.' })
  @ApiOkResponse({ type: ApiKeyListDto })
  listApiKeys(): Promise<ApiKeyListDto> {
    return this.apiKeys.list();
  }

  @Delete(':id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Revoke an API key', description: 'Refused from then on (other replicas within 5 s).' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiErrorResponses(400, 404)
  revokeApiKey(@Param() { id }: ApiKeyIdParamDto): Promise<ApiKeyDto> {
    return this.apiKeys.revoke(id);
  }
}
