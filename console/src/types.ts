/** The parts of the API's DTOs the console reads (the OpenAPI document has them whole). */

export type Scope = 'mcp:read' | 'mcp:write' | 'mcp:admin';

export interface Me {
  kind: string;
  subject: string;
  scopes: string[];
  servers: string[] | null;
  tier: string | null;
}

export interface ServerSummary {
  id: string;
  name: string;
  type: string;
  status: string;
  health: { status: string; last_check: string | null; response_time_ms: number | null };
  capabilities: { tools: number; resources: number; prompts: number };
}

export interface ServerDetails extends ServerSummary {
  endpoint: string;
  description: string | null;
  last_error: string | null;
  last_error_at: string | null;
  metrics: {
    requests_total: number;
    errors_total: number;
    avg_response_time_ms: number;
    in_flight: number;
    restarts: number;
    uptime_seconds: number | null;
  };
}

export interface Tool {
  name: string;
  title?: string;
  description: string | null;
  server_id: string;
  input_schema: JsonSchema;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  items?: JsonSchema;
  description?: string;
  default?: unknown;
  title?: string;
}

export interface Execution {
  execution_id: string;
  server_id: string;
  tool_name: string;
  status: string;
  principal: string;
  channel: string;
  started_at: string;
  completed_at: string | null;
  duration_ms: number | null;
  parameters: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error?: { code?: string; message?: string; reason?: string } | null;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  tier: string | null;
  server_ids: string[] | null;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface Pagination {
  page: number;
  limit: number;
  total: number;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  created_at: string;
  updated_at: string;
}

export interface DeliveryAttempt {
  attempt: number;
  attempted_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  outcome: string;
  instance: string;
}

export interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  payload: Record<string, unknown>;
  attempt_log: DeliveryAttempt[];
}
