import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { McpEngine } from 'src/mcp/mcp-engine';
import {
  MCP_CLIENT_REQUESTS,
  MCP_CLIENT_REQUEST_DURATION,
  MCP_POOL_IN_FLIGHT,
  MCP_POOL_QUEUE_DEPTH,
  MCP_SERVER_RESTARTS,
  MCP_SERVER_STATUS,
} from './metric-names';

/** Turns the engine's events into the Prometheus series the dashboards and alert rules read. */
@Injectable()
export class McpMetrics implements OnModuleInit {
  constructor(
    private readonly engine: McpEngine,
    @InjectMetric(MCP_CLIENT_REQUESTS) private readonly requests: Counter<'server' | 'method' | 'outcome'>,
    @InjectMetric(MCP_CLIENT_REQUEST_DURATION) private readonly duration: Histogram<'server' | 'method'>,
    @InjectMetric(MCP_SERVER_STATUS) private readonly status: Gauge<'server'>,
    @InjectMetric(MCP_SERVER_RESTARTS) private readonly restarts: Counter<'server'>,
    @InjectMetric(MCP_POOL_QUEUE_DEPTH) private readonly queueDepth: Gauge,
    @InjectMetric(MCP_POOL_IN_FLIGHT) private readonly inFlight: Gauge,
  ) {}

  onModuleInit(): void {
    this.engine.on('call.finished', (e) => {
      this.requests.inc({ server: e.serverId, method: e.method, outcome: e.outcome });
      this.duration.observe({ server: e.serverId, method: e.method }, e.durationMs / 1000);
    });
    this.engine.on('server.status', (e) => this.status.set({ server: e.serverId }, e.status === 'active' ? 1 : 0));
    this.engine.on('server.restart', (e) => this.restarts.inc({ server: e.serverId }));
    this.engine.on('server.removed', ({ serverId }) => {
      this.status.remove({ server: serverId });
    });
    this.engine.on('queue.depth', (e) => {
      this.queueDepth.set(e.depth);
      this.inFlight.set(e.inFlight);
    });
  }
}
