import { Injectable } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';

export const MCP_ENDPOINT_SESSIONS = 'mcp_endpoint_sessions';
export const MCP_ENDPOINT_SESSIONS_OPENED = 'mcp_endpoint_sessions_opened_total';
export const MCP_ENDPOINT_STREAMS = 'mcp_endpoint_streams';
export const MCP_ENDPOINT_MESSAGES = 'mcp_endpoint_requests_total';
export const MCP_POOL_PLACEMENT_WAITS = 'mcp_pool_placement_waits_total';

export const mcpEndpointMetricProviders = [
  makeGaugeProvider({
    name: MCP_ENDPOINT_SESSIONS,
    help: 'Live MCP client sessions (across replicas sharing a Redis; bounded by mcp.endpoint.max-sessions)',
  }),
  makeCounterProvider({ name: MCP_ENDPOINT_SESSIONS_OPENED, help: 'MCP client sessions opened by this replica' }),
  makeGaugeProvider({
    name: MCP_ENDPOINT_STREAMS,
    help: 'Standalone streams (Streamable HTTP GET, legacy SSE, 2026-07-28 subscriptions/listen) open on this replica',
  }),
  makeCounterProvider({
    name: MCP_ENDPOINT_MESSAGES,
    help: 'JSON-RPC requests received on the MCP endpoint, by method',
    labelNames: ['method'],
  }),
  makeCounterProvider({
    name: MCP_POOL_PLACEMENT_WAITS,
    help:
      'Calls that waited for a pooled upstream connection they may share: client sessions that answer sampling, ' +
      'elicitation or roots each get connections of their own while their calls run (see ADR 0003)',
    labelNames: ['server'],
  }),
];

/** Sessions and streams of the MCP front door. Upstream connections are the pools' (mcp_pool_*), not per session. */
@Injectable()
export class McpEndpointMetrics {
  constructor(
    @InjectMetric(MCP_ENDPOINT_SESSIONS) private readonly live: Gauge,
    @InjectMetric(MCP_ENDPOINT_SESSIONS_OPENED) private readonly opened: Counter,
    @InjectMetric(MCP_ENDPOINT_STREAMS) private readonly streams: Gauge,
    @InjectMetric(MCP_ENDPOINT_MESSAGES) private readonly messages: Counter<'method'>,
    @InjectMetric(MCP_POOL_PLACEMENT_WAITS) private readonly placementWaits: Counter<'server'>,
  ) {}

  /** Counted here: only the front door's sessions make calls that may have to wait for a connection to share. */
  placementWait(server: string): void {
    this.placementWaits.inc({ server });
  }

  /** Reads the live-session count at each scrape. */
  sessions(count: () => Promise<number>): void {
    const gauge = this.live;
    // prom-client awaits an async collect(); the count comes from the shared store, not this replica's memory.
    (gauge as unknown as { collect?: () => Promise<void> }).collect = async () => gauge.set(await count());
  }

  sessionOpened(): void {
    this.opened.inc();
  }

  streamOpened(): void {
    this.streams.inc();
  }

  streamClosed(): void {
    this.streams.dec();
  }

  message(method: string): void {
    // Known MCP methods only as label values: a client cannot grow the label set without bound.
    this.messages.inc({ method: /^[a-z]+(\/[a-zA-Z_]+){0,2}$/.test(method) && method.length <= 40 ? method : 'other' });
  }
}
