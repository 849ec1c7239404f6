/** Metric names the deployment guide's alert rules and dashboards read; changing one breaks them. */
export const HTTP_SERVER_REQUESTS = 'http_server_requests_seconds';
export const MCP_CLIENT_REQUESTS = 'mcp_client_requests_total';
export const MCP_CLIENT_REQUEST_DURATION = 'mcp_client_request_duration_seconds';
export const MCP_SERVER_STATUS = 'mcp_server_status';
export const MCP_SERVER_RESTARTS = 'mcp_server_restarts_total';
export const MCP_POOL_QUEUE_DEPTH = 'mcp_pool_queue_depth';
export const MCP_POOL_IN_FLIGHT = 'mcp_pool_in_flight';
