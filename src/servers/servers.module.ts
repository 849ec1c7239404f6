import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { McpServerEntity } from './registry/mcp-server.entity';
import { McpServersRepository } from './registry/mcp-servers.repository';
import { ServerRegistryService } from './registry/server-registry.service';
import { ServersController } from './servers.controller';
import { ServersService } from './servers.service';

@Module({
  imports: [TypeOrmModule.forFeature([McpServerEntity])],
  controllers: [ServersController],
  providers: [ServersService, McpServersRepository, ServerRegistryService],
  exports: [ServersService, ServerRegistryService],
})
export class ServersModule {}
