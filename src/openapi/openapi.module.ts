import { Module } from '@nestjs/common';
import { PolicyModule } from 'src/policy/policy.module';
import { ServersModule } from 'src/servers/servers.module';
import { VirtualServersModule } from 'src/virtual-servers/virtual-servers.module';
import { OpenApiDocumentService } from './openapi-document.service';

/** The OpenAPI document with one typed operation per tool of the live catalog (served by src/bootstrap/openapi.ts). */
@Module({
  imports: [ServersModule, PolicyModule, VirtualServersModule],
  providers: [OpenApiDocumentService],
  exports: [OpenApiDocumentService],
})
export class OpenApiModule {}
