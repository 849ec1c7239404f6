/** Metric names the deployment guide's alert rules and dashboards read; changing one breaks them. */
export const HTTP_SERVER_REQUESTS = 'http_server_requests_seconds';
