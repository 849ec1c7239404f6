import { Module } from '@nestjs/common';
import { ServersModule } from 'src/servers/servers.module';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { NotificationStreamsService } from './notification-streams.service';

/** Raw JSON-RPC to an upstream and the stream of its notifications (admin views of API.md, "Servers"). */
@Module({
  imports: [ServersModule],
  controllers: [MessagesController],
  providers: [MessagesService, NotificationStreamsService],
})
export class MessagesModule {}
