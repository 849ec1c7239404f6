import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  MaxLength,
} from 'class-validator';
import { PageQueryDto, PaginationDto } from 'src/common/dto/pagination.dto';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, type DeliveryStatus } from '../webhook-delivery.entity';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../webhook-events';

export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://hooks.example.com/globalmcp',
    maxLength: 2048,
    description:
      'http:// or https:// receiver; its host must pass mcp.security.allowed-upstream-hosts (never link-local/metadata)',
  })
  @IsString()
  @MaxLength(2048)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false, disallow_auth: true })
  url!: string;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true, example: ['tool.failed', 'server.error'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENTS, { each: true })
  events!: WebhookEvent[];

  @ApiProperty({
    minLength: 16,
    maxLength: 512,
    writeOnly: true,
    example: 'whsec_5f0c1e3b9a7d4c2e8f6a1b0d',
    description:
      'Signing secret: deliveries carry X-GlobalMCP-Signature = sha256=HMAC-SHA256(secret, "<X-GlobalMCP-Timestamp>.<body>") in hex. Stored encrypted, never returned.',
  })
  @IsString()
  @Length(16, 512)
  secret!: string;

  @ApiPropertyOptional({ default: true, description: 'Inactive webhooks get no deliveries' })
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

export class WebhookIdParamDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'id must be a UUID' })
  id!: string;
}

export class WebhookDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'https://hooks.example.com/globalmcp' }) url!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true }) events!: string[];
  @ApiProperty() active!: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time' }) updated_at!: string;
}

export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto] }) webhooks!: WebhookDto[];
  @ApiProperty({ example: 1 }) total_count!: number;
}

export class ListDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class DeliveryAttemptDto {
  @ApiProperty({ example: 1 }) attempt!: number;
  @ApiProperty({ type: String, format: 'date-time' }) attempted_at!: string;
  @ApiProperty({ example: 12.5 }) duration_ms!: number;
  @ApiProperty({ nullable: true, type: Number, example: 200, description: "The receiver's HTTP status, if any" })
  status_code!: number | null;
  @ApiProperty({ nullable: true, type: String, example: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' })
  error!: string | null;
  @ApiProperty({ enum: ATTEMPT_OUTCOMES }) outcome!: string;
  @ApiProperty({ description: 'Replica that made the attempt' }) instance!: string;
}

export class DeliveryDto {
  @ApiProperty({ format: 'uuid', description: 'Also the X-GlobalMCP-Delivery header and the `id` of the body' })
  id!: string;
  @ApiProperty({ enum: WEBHOOK_EVENTS }) event!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: string;
  @ApiProperty({ example: 1 }) attempts!: number;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'While pending: when the next attempt is due',
  })
  next_attempt_at!: string | null;
  @ApiProperty({ nullable: true, type: Number }) last_status_code!: number | null;
  @ApiProperty({ nullable: true, type: String }) last_error!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) created_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) delivered_at!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The `data` of the delivered body' })
  payload!: Record<string, unknown>;
  @ApiProperty({ type: [DeliveryAttemptDto] }) attempt_log!: DeliveryAttemptDto[];
}

export class DeliveryListDto {
  @ApiProperty({ type: [DeliveryDto] }) deliveries!: DeliveryDto[];
  @ApiProperty({ type: PaginationDto }) pagination!: PaginationDto;
}
