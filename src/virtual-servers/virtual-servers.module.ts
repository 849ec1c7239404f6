import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from 'src/auth/auth.module';
import { CallsModule } from 'src/calls/calls.module';
import { PolicyModule } from 'src/policy/policy.module';
import { ServersModule } from 'src/servers/servers.module';
import { VirtualCallsService } from './virtual-calls.service';
import { VirtualServerEntity } from './virtual-server.entity';
import { VirtualServersController } from './virtual-servers.controller';
import { VirtualServersRepository } from './virtual-servers.repository';
import { VirtualServersService } from './virtual-servers.service';

/**
 * Virtual servers (ADR 0009): definitions from `mcp.virtual-servers` and `virtual_servers`, their composition of the
 * live catalog, the admin API and the REST tool routes (`/api/virtual-servers`). The MCP front door and the OpenAPI
 * document read the same service.
 */
@Module({
  imports: [TypeOrmModule.forFeature([VirtualServerEntity]), AuthModule, ServersModule, PolicyModule, CallsModule],
  controllers: [VirtualServersController],
  providers: [VirtualServersRepository, VirtualServersService, VirtualCallsService],
  exports: [VirtualServersService],
})
export class VirtualServersModule {}
