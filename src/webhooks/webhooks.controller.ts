import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated } from 'src/auth/authenticated.decorator';
import { ApiErrorResponses } from 'src/common/errors/api-error-responses.decorator';
import {
  CreateWebhookDto,
  DeliveryListDto,
  ListDeliveriesQueryDto,
  WebhookDto,
  WebhookIdParamDto,
  WebhookListDto,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('Webhooks')
@Controller('api/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @HttpCode(201)
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Subscribe a receiver to events',
    description:
      'Events: server.connected, server.disconnected, server.error, tool.executed, tool.failed. Each delivery is a ' +
      'POST of {id,event,created_at,data} with X-GlobalMCP-Event, X-GlobalMCP-Delivery, X-GlobalMCP-Timestamp and ' +
      'X-GlobalMCP-Signature (sha256=HMAC-SHA256 of "<timestamp>.<body>" with the secret), retried with backoff until ' +
      'a 2xx. The secret is stored encrypted and never returned.',
  })
  @ApiCreatedResponse({ type: WebhookDto })
  @ApiErrorResponses(400, 403)
  createWebhook(@Body() body: CreateWebhookDto): Promise<WebhookDto> {
    return this.webhooks.create(body);
  }

  @Get()
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'List webhooks' })
  @ApiOkResponse({ type: WebhookListDto })
  listWebhooks(): Promise<WebhookListDto> {
    return this.webhooks.list();
  }

  @Get(':id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'One webhook' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiErrorResponses(400, 404)
  getWebhook(@Param() { id }: WebhookIdParamDto): Promise<WebhookDto> {
    return this.webhooks.get(id);
  }

  @Delete(':id')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({ summary: 'Delete a webhook', description: 'Its pending deliveries are dropped with it.' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiErrorResponses(400, 404)
  deleteWebhook(@Param() { id }: WebhookIdParamDto): Promise<WebhookDto> {
    return this.webhooks.remove(id);
  }

  @Get(':id/deliveries')
  @Authenticated({ scopes: ['mcp:admin'] })
  @ApiOperation({
    summary: 'Deliveries of a webhook',
    description: 'Newest first, each with its attempts (status code or error, duration, replica).',
  })
  @ApiOkResponse({ type: DeliveryListDto })
  @ApiErrorResponses(400, 404)
  listWebhookDeliveries(
    @Param() { id }: WebhookIdParamDto,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<DeliveryListDto> {
    return this.webhooks.deliveries(id, query);
  }
}
