/** Metric names the deployment guide's alert rules and dashboards read; changing one breaks them. */
export const HTTP_SERVER_REQUESTS = 'http_server_requests_seconds';
export const MCP_CLIENT_REQUESTS = 'mcp_client_requests_total';
export const MCP_CLIENT_REQUEST_DURATION = 'mcp_client_request_duration_seconds';
export const MCP_SERVER_STATUS = 'mcp_server_status';
export const MCP_SERVER_RESTARTS = 'mcp_server_restarts_total';
export const MCP_POOL_QUEUE_DEPTH = 'mcp_pool_queue_depth';
export const MCP_POOL_IN_FLIGHT = 'mcp_pool_in_flight';
export const DB_POOL_CONNECTIONS_ACTIVE = 'db_pool_connections_active';
export const DB_POOL_CONNECTIONS_IDLE = 'db_pool_connections_idle';
export const DB_POOL_CONNECTIONS_PENDING = 'db_pool_connections_pending';
export const DB_POOL_CONNECTIONS_TOTAL = 'db_pool_connections_total';
export const DB_POOL_CONNECTIONS_MAX = 'db_pool_connections_max';
export const CACHE_GETS = 'cache_gets_total';
/** 1 while the Redis connection is up, 0 while it is down (and where Redis is not configured). */
export const REDIS_UP = 'redis_up';
/** Counter of requests refused by the rate limiter (created by src/rate-limit; labels are its own). */
export const RATE_LIMIT_REJECTIONS = 'rate_limit_rejections_total';
export const CONFIG_RELOAD_FAILURES = 'config_reload_failures_total';
export const CONFIG_LAST_RELOAD_SUCCESS = 'config_last_reload_success';
export const CONFIG_LAST_RELOAD_TIMESTAMP = 'config_last_reload_timestamp_seconds';
/** Counter of webhook delivery attempts by outcome (`delivered`, `retry`, `failed`); created by src/webhooks. */
export const WEBHOOK_DELIVERIES = 'webhook_deliveries_total';
/** Counter of tool calls refused by tool-level policy, by server and deciding rule; created by src/policy. */
export const MCP_POLICY_DENIALS = 'mcp_policy_denials_total';
/** Counter of upstream credentials used, obtained, refreshed or refused, by server, mode and action; created by src/calls. */
export const MCP_UPSTREAM_CREDENTIALS = 'mcp_upstream_credentials_total';
