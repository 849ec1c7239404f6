import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches, ValidateBy, type ValidationOptions } from 'class-validator';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

/** Prompt names are the upstream's: anything printable, bounded. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
export const PROMPT_NAME_PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/;
const MAX_ARGUMENTS = 100;
const MAX_ARGUMENT_LENGTH = 64 * 1024;

/** `Record<string, string>` with a bounded number of entries (MCP prompt arguments are strings). */
function IsStringRecord(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringRecord',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length <= MAX_ARGUMENTS &&
          Object.values(value).every((v) => typeof v === 'string' && v.length <= MAX_ARGUMENT_LENGTH),
        defaultMessage: () =>
          `arguments must be an object of at most ${MAX_ARGUMENTS} string values (each at most ${MAX_ARGUMENT_LENGTH} characters)`,
      },
    },
    options,
  );
}

export class PromptNameParamDto {
  @ApiProperty({ example: 'args-prompt' })
  @Matches(PROMPT_NAME_PATTERN, { message: 'name must be 1-256 printable characters' })
  name!: string;
}

export class GetPromptDto {
  @ApiPropertyOptional({
    example: 'everything',
    description: 'Required when the prompt name exists on several servers',
  })
  @IsOptional()
  @Matches(SERVER_ID_PATTERN, { message: 'server_id is not a valid server id' })
  server_id?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { city: 'Lisbon', state: 'Lisboa' },
    description: "The prompt's arguments (strings); the required ones are checked before the upstream is called",
  })
  @IsOptional()
  @IsStringRecord()
  arguments?: Record<string, string>;
}

export class PromptArgumentDto {
  @ApiProperty({ example: 'city' }) name!: string;
  @ApiPropertyOptional({ example: 'Name of the city' }) description?: string;
  @ApiPropertyOptional({ example: true }) required?: boolean;
}

export class PromptDto {
  @ApiProperty({ example: 'args-prompt' }) name!: string;
  @ApiPropertyOptional({ example: 'Arguments Prompt' }) title?: string;
  @ApiProperty({ nullable: true, type: String, example: 'A prompt with two arguments, one required and one optional' })
  description!: string | null;
  @ApiProperty({ type: [PromptArgumentDto] }) arguments!: PromptArgumentDto[];
  @ApiProperty({ example: 'everything' }) server_id!: string;
}

export class PromptListDto {
  @ApiProperty({ type: [PromptDto] }) prompts!: PromptDto[];
  @ApiProperty({ example: 4 }) total_count!: number;
}

export class PromptResultDto {
  @ApiProperty({ example: 'everything' }) server_id!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'Prompt messages as the upstream sent them (`{role, content}`)',
    example: [{ role: 'user', content: { type: 'text', text: "What's weather in Lisbon, Lisboa?" } }],
  })
  messages!: Record<string, unknown>[];
}
