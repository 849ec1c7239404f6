import type { HttpAdapterHost } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import type { MessageEvent } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { ServersService } from 'src/servers/servers.service';
import { HEARTBEAT_INTERVAL_MS, NotificationStreamsService } from './notification-streams.service';

function setup() {
  const engine = new EventEmitter();
  const servers = {
    find: jest.fn((id: string) => {
      if (id !== 'a' && id !== 'b') throw AppException.notFound(`Server '${id}'`);
      return { id };
    }),
  };
  const hooks: Record<string, (done: () => void) => void> = {};
  const adapterHost = {
    httpAdapter: {
      getInstance: () => ({ addHook: (name: string, fn: (done: () => void) => void) => (hooks[name] = fn) }),
    },
  };
  const service = new NotificationStreamsService(
    engine as unknown as McpEngine,
    servers as unknown as ServersService,
    adapterHost as unknown as HttpAdapterHost,
  );
  service.onModuleInit();
  return { engine, service, hooks };
}

const notification = (method: string, params: Record<string, unknown> = {}) => ({ method, params });

describe('NotificationStreamsService', () => {
  afterEach(() => jest.useRealTimers());

  it("delivers only its server's notifications, numbered per stream", () => {
    const { engine, service } = setup();
    const events: MessageEvent[] = [];
    const sub = service.stream('a').subscribe((e) => events.push(e));
    engine.emit('server.notification', { serverId: 'b', notification: notification('notifications/message') });
    engine.emit('server.notification', {
      serverId: 'a',
      notification: notification('notifications/message', { level: 'info' }),
    });
    engine.emit('server.notification', {
      serverId: 'a',
      notification: notification('notifications/resources/updated', { uri: 'x://1' }),
    });
    expect(events).toEqual([
      {
        type: 'notifications/message',
        id: '1',
        data: { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info' } },
      },
      {
        type: 'notifications/resources/updated',
        id: '2',
        data: { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'x://1' } },
      },
    ]);
    sub.unsubscribe();
  });

  it('holds one engine listener while streams are open and none after the last one closes', () => {
    const { engine, service } = setup();
    const baseline = engine.listenerCount('server.notification');
    const subs = Array.from({ length: 20 }, (_, i) => service.stream(i % 2 ? 'a' : 'b').subscribe());
    expect(engine.listenerCount('server.notification')).toBe(baseline + 1);
    expect(service.openStreams).toBe(20);
    subs.forEach((s) => s.unsubscribe());
    expect(engine.listenerCount('server.notification')).toBe(baseline);
    expect(engine.listenerCount('server.removed')).toBe(0);
    expect(service.openStreams).toBe(0);
  });

  it('sends a heartbeat comment every 15 s', () => {
    jest.useFakeTimers();
    const { service } = setup();
    const events: MessageEvent[] = [];
    const sub = service.stream('a').subscribe((e) => events.push(e));
    jest.advanceTimersByTime(HEARTBEAT_INTERVAL_MS * 2 + 10);
    expect(events).toEqual([{ comment: 'heartbeat' }, { comment: 'heartbeat' }]);
    sub.unsubscribe();
    jest.advanceTimersByTime(HEARTBEAT_INTERVAL_MS * 2);
    expect(events).toHaveLength(2);
  });

  it('ends the streams of a removed server, and every stream before the HTTP server closes', () => {
    const { engine, service, hooks } = setup();
    const completed: string[] = [];
    service.stream('a').subscribe({ complete: () => completed.push('a') });
    service.stream('b').subscribe({ complete: () => completed.push('b') });
    engine.emit('server.removed', { serverId: 'a' });
    expect(completed).toEqual(['a']);
    const done = jest.fn();
    hooks.preClose!(done);
    expect(completed).toEqual(['a', 'b']);
    expect(done).toHaveBeenCalled();
    expect(engine.listenerCount('server.notification')).toBe(0);
  });

  it('404s an unknown server before any stream opens', () => {
    const { service } = setup();
    expect(() => service.stream('zz')).toThrow(AppException);
    expect(service.openStreams).toBe(0);
  });
});
