import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { CacheMetrics } from './cache.metrics';
import { DatabasePoolMetrics, databasePoolMetricProviders } from './database-pool.metrics';
import { HttpMetricsRecorder } from './http-metrics.recorder';
import { McpMetrics } from './mcp.metrics';
import { RedisMetrics, redisUpGaugeProvider } from './redis.metrics';
import {
  CACHE_GETS,
  HTTP_SERVER_REQUESTS,
  MCP_CLIENT_REQUESTS,
  MCP_CLIENT_REQUEST_DURATION,
  MCP_POOL_IN_FLIGHT,
  MCP_POOL_QUEUE_DEPTH,
  MCP_SERVER_RESTARTS,
  MCP_SERVER_STATUS,
} from './metric-names';

/** Metrics of the API process. Exposition (the /actuator/prometheus routes) lives with the management listener. */
@Global()
@Module({
  providers: [
    makeHistogramProvider({
      name: HTTP_SERVER_REQUESTS,
      help: 'Duration of HTTP server requests',
      labelNames: ['method', 'uri', 'status', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 5, 10, 30],
    }),
    makeCounterProvider({
      name: MCP_CLIENT_REQUESTS,
      help: 'Calls to upstream MCP servers by outcome (success, tool_error, or the engine error code)',
      labelNames: ['server', 'method', 'outcome'],
    }),
    makeHistogramProvider({
      name: MCP_CLIENT_REQUEST_DURATION,
      help: 'Duration of calls to upstream MCP servers, queue wait included',
      labelNames: ['server', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    makeGaugeProvider({
      name: MCP_SERVER_STATUS,
      help: 'Upstream MCP server status: 1 active, 0 inactive or error',
      labelNames: ['server'],
    }),
    makeCounterProvider({
      name: MCP_SERVER_RESTARTS,
      help: 'Reconnects/respawns of upstream MCP server connections',
      labelNames: ['server'],
    }),
    makeGaugeProvider({
      name: MCP_POOL_QUEUE_DEPTH,
      help: 'Upstream calls waiting for a slot (mcp.client.max-concurrent-connections)',
    }),
    makeGaugeProvider({ name: MCP_POOL_IN_FLIGHT, help: 'Upstream calls in flight, gateway-wide' }),
    HttpMetricsRecorder,
    McpMetrics,
    ...databasePoolMetricProviders,
    DatabasePoolMetrics,
    makeCounterProvider({
      name: CACHE_GETS,
      help: 'Cache reads by cache name and result (hit or miss)',
      labelNames: ['cache', 'result'],
    }),
    CacheMetrics,
    redisUpGaugeProvider,
    RedisMetrics,
  ],
  exports: [HttpMetricsRecorder, CacheMetrics],
})
export class MetricsModule implements OnModuleInit {
  onModuleInit(): void {
    // Process metrics (CPU, memory, event loop lag, GC, handles) once per process, whatever tests create.
    if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
  }
}
