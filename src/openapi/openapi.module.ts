import { Module } from '@nestjs/common';
import { ServersModule } from 'src/servers/servers.module';
import { OpenApiDocumentService } from './openapi-document.service';

/** The OpenAPI document with one typed operation per tool of the live catalog (served by src/bootstrap/openapi.ts). */
@Module({
  imports: [ServersModule],
  providers: [OpenApiDocumentService],
  exports: [OpenApiDocumentService],
})
export class OpenApiModule {}
