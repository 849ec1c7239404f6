import { Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { EngineErrorCode } from 'src/mcp/engine-error';
import { McpEngine } from 'src/mcp/mcp-engine';
import type { CallOutcome } from 'src/mcp/mcp-engine.events';
import {
  MCP_CLIENT_REQUESTS,
  MCP_CLIENT_REQUEST_DURATION,
  MCP_POOL_IN_FLIGHT,
  MCP_POOL_QUEUE_DEPTH,
  MCP_SERVER_RESTARTS,
  MCP_SERVER_STATUS,
} from './metric-names';

/** Every outcome a tool call can end with: each server's series for them exist from the start, at 0. */
const CALL_OUTCOMES: readonly CallOutcome[] = ['success', 'tool_error', ...Object.values(EngineErrorCode)];

/**
 * Turns the engine's events into the Prometheus series the dashboards and alert rules read. A server's counters
 * exist at 0 from the moment the gateway knows it (at start, or when it is added): `increase()` in the alert rules
 * sees no first event when the series only appears with it.
 */
@Injectable()
export class McpMetrics implements OnModuleInit, OnApplicationBootstrap {
  private readonly known = new Set<string>();

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
    this.engine.on('server.status', (e) => {
      this.declare(e.serverId);
      this.status.set({ server: e.serverId }, e.status === 'active' ? 1 : 0);
    });
    this.engine.on('server.restart', (e) => {
      this.declare(e.serverId);
      this.restarts.inc({ server: e.serverId });
    });
    this.engine.on('server.removed', ({ serverId }) => {
      this.known.delete(serverId);
      this.status.remove({ server: serverId });
    });
    this.engine.on('queue.depth', (e) => {
      this.queueDepth.set(e.depth);
      this.inFlight.set(e.inFlight);
    });
  }

  /** The servers the engine started with (configured and registered), whatever their state. */
  onApplicationBootstrap(): void {
    for (const { id } of this.engine.listServerStates()) this.declare(id);
  }

  /** Creates a server's restart and tool-call series at 0 (once per server; `inc(0)` keeps existing values). */
  private declare(server: string): void {
    if (this.known.has(server)) return;
    this.known.add(server);
    this.restarts.inc({ server }, 0);
    for (const outcome of CALL_OUTCOMES) this.requests.inc({ server, method: 'tools/call', outcome }, 0);
  }
}
