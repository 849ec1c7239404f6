import type { CallFinishedEvent } from 'src/mcp/mcp-engine.events';

interface Totals {
  requests: number;
  errors: number;
  durationMs: number;
}

/** Per-server call counts for the details view, fed by the engine's `call.finished` events. */
export class ServerStats {
  private readonly totals = new Map<string, Totals>();

  record(event: CallFinishedEvent): void {
    const totals = this.totals.get(event.serverId) ?? { requests: 0, errors: 0, durationMs: 0 };
    totals.requests += 1;
    totals.durationMs += event.durationMs;
    if (event.outcome !== 'success') totals.errors += 1;
    this.totals.set(event.serverId, totals);
  }

  of(serverId: string): { requests_total: number; errors_total: number; avg_response_time_ms: number } {
    const totals = this.totals.get(serverId);
    if (!totals || totals.requests === 0) return { requests_total: 0, errors_total: 0, avg_response_time_ms: 0 };
    return {
      requests_total: totals.requests,
      errors_total: totals.errors,
      avg_response_time_ms: Math.round((totals.durationMs / totals.requests) * 100) / 100,
    };
  }

  forget(serverId: string): void {
    this.totals.delete(serverId);
  }
}
