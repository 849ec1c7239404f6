import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';
import { MAX_URI_LENGTH } from '../resource-matching';
import { IsResourceUri } from './resource-uri.decorator';

export const CONTENT_FORMATS = ['json', 'text', 'binary'] as const;
export type ContentFormat = (typeof CONTENT_FORMATS)[number];

export class ServerFilterQueryDto {
  @ApiPropertyOptional({ example: 'everything', description: 'Only this server' })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;
}

export class ListResourcesQueryDto extends ServerFilterQueryDto {
  @ApiPropertyOptional({
    example: 'text',
    description: 'MIME type prefix: `text` matches every `text/*`, `image/png` only that type',
  })
  @IsOptional()
  @IsString()
  @MaxLength(255)
  type?: string;

  @ApiPropertyOptional({
    example: 'demo://resource/static/*.md',
    description:
      'A glob when it contains `*` (any characters, `/` included; whole URI), otherwise a substring of the URI',
    maxLength: MAX_URI_LENGTH,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_URI_LENGTH)
  uri_pattern?: string;
}

export class ResourceContentQueryDto extends ServerFilterQueryDto {
  @IsResourceUri()
  uri!: string;

  @ApiPropertyOptional({
    enum: CONTENT_FORMATS,
    description:
      '`text`: text parts as text (a blob is decoded when it is UTF-8); `json`: the text parsed as JSON (400 if it is not); ' +
      '`binary`: base64, text parts included. Default: text parts as text, blobs as base64.',
  })
  @IsOptional()
  @IsIn(CONTENT_FORMATS)
  format?: ContentFormat;

  @ApiPropertyOptional({
    example: 'everything',
    description:
      'Optional: without it, the server whose resource list holds the URI (else whose resource template matches it) is used; ' +
      '409 when several do, 400 when none does',
  })
  declare server_id?: string;
}

export class ReadResourceQueryDto {
  @IsResourceUri()
  uri!: string;
}

export class ResourceDto {
  @ApiProperty({ example: 'demo://resource/static/document/features.md' }) uri!: string;
  @ApiProperty({ example: 'features.md' }) name!: string;
  @ApiPropertyOptional({ example: 'Features' }) title?: string;
  @ApiProperty({ nullable: true, type: String, example: 'Static document file exposed from /docs: features.md' })
  description!: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'text/markdown' }) mime_type!: string | null;
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiPropertyOptional({ example: 5120, description: 'Size in bytes, when the upstream declares it' }) size?: number;
}

export class ResourceListDto {
  @ApiProperty({ type: [ResourceDto] }) resources!: ResourceDto[];
  @ApiProperty({ example: 7 }) total_count!: number;
}

export class ResourceTemplateDto {
  @ApiProperty({ example: 'demo://resource/dynamic/text/{resourceId}', description: 'RFC 6570 URI template' })
  uri_template!: string;
  @ApiProperty({ example: 'Dynamic Text Resource' }) name!: string;
  @ApiPropertyOptional({ example: 'Dynamic Text Resource' }) title?: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'text/plain' }) mime_type!: string | null;
  @ApiProperty({ example: 'everything' }) server_id!: string;
}

export class ResourceTemplateListDto {
  @ApiProperty({ type: [ResourceTemplateDto] }) resource_templates!: ResourceTemplateDto[];
  @ApiProperty({ example: 2 }) total_count!: number;
}

export class ContentMetadataDto {
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'text/markdown',
    description: 'MIME type of the part in `content`',
  })
  content_type!: string | null;
  @ApiProperty({ example: 1234, description: 'Size of that part in bytes (decoded, for a blob)' }) size_bytes!: number;
  @ApiProperty({ enum: ['text', 'base64', 'json'], example: 'text', description: 'What `content` holds' })
  encoding!: string;
}

export class ResourceContentDto {
  @ApiProperty({ example: 'demo://resource/static/document/features.md' }) uri!: string;
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({
    description:
      'The first part: text, a base64 string, or (format=json) the parsed JSON value; null when the upstream sent no part',
    nullable: true,
    oneOf: [{ type: 'string' }, { type: 'object' }, { type: 'array' }, { type: 'number' }, { type: 'boolean' }],
    example: '# Everything Server - Features\n...',
  })
  content!: unknown;
  @ApiProperty({ type: ContentMetadataDto }) metadata!: ContentMetadataDto;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'Every part as the upstream sent it (`{uri, mimeType?, text}` or `{uri, mimeType?, blob}`)',
    example: [
      {
        uri: 'demo://resource/static/document/features.md',
        mimeType: 'text/markdown',
        text: '# Everything Server - Features\n...',
      },
    ],
  })
  contents!: Record<string, unknown>[];
}

/** `resources/read` result exactly as the upstream sent it. */
export class ReadResourceResultDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    example: [{ uri: 'demo://resource/dynamic/blob/1', mimeType: 'text/plain', blob: 'UmVzb3VyY2UgMQ==' }],
  })
  contents!: Record<string, unknown>[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) _meta?: Record<string, unknown>;
}
