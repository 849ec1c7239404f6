import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { MAX_URI_LENGTH, URI_SCHEME } from '../resource-matching';

/** A resource URI: a string of at most 2048 characters with a scheme (`file:`, `demo:`, `https:` ...). */
export function IsResourceUri(options: { required?: boolean; description?: string } = {}): PropertyDecorator {
  const doc = {
    example: 'demo://resource/static/document/features.md',
    maxLength: MAX_URI_LENGTH,
    description: options.description ?? 'Resource URI, with its scheme',
  };
  return applyDecorators(
    options.required === false ? ApiPropertyOptional(doc) : ApiProperty(doc),
    IsString({ message: 'uri must be a string' }),
    MaxLength(MAX_URI_LENGTH, { message: `uri must be at most ${MAX_URI_LENGTH} characters` }),
    Matches(URI_SCHEME, { message: 'uri must start with a scheme (e.g. file:// or demo://)' }),
  );
}
