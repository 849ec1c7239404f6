import { type ArgumentsHost, Catch } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { translateEngineError } from 'src/mcp/engine-error';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { toAppException } from 'src/common/errors/to-app-exception';
import { AppException } from 'src/common/errors/app.exception';
import { protectedResourceMetadataUrl } from './protected-resource';

/**
 * The envelope as everywhere, plus what MCP clients need to find the authorization server (MCP authorization,
 * RFC 9728 section 5.1): `resource_metadata="<url>"` in the `WWW-Authenticate` challenge of 401 and 403 answers.
 */
@Catch()
export class McpAuthFilter extends AllExceptionsFilter {
  constructor() {
    super([translateEngineError]);
  }

  override catch(error: unknown, host: ArgumentsHost): void {
    const { exception } = toAppException(error, [translateEngineError]);
    const challenge = exception.headers?.['WWW-Authenticate'];
    if (challenge?.startsWith('Bearer') && host.getType() === 'http') {
      const request = host.switchToHttp().getRequest<FastifyRequest>();
      const withMetadata = `${challenge}, resource_metadata="${protectedResourceMetadataUrl(request)}"`;
      super.catch(
        new AppException(exception.code, exception.message, exception.details, {
          ...exception.headers,
          'WWW-Authenticate': withMetadata,
        }),
        host,
      );
      return;
    }
    super.catch(error, host);
  }
}
