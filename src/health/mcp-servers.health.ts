import { Injectable, type OnModuleInit } from '@nestjs/common';
import { McpEngine } from 'src/mcp/mcp-engine';
import { ConfigServersSource } from 'src/config/config-servers.source';
import { HealthService } from './health.service';
import type { ComponentHealth } from './health.types';

/**
 * `mcp-servers` in /actuator/health (each server's status, last error, uptime) and the readiness rule: every
 * enabled server marked `required: true` is connected. Optional servers being down degrade nothing but their
 * own routes.
 */
@Injectable()
export class McpServersHealth implements OnModuleInit {
  /** Servers other than the configuration file's that readiness waits for (the API-registered ones). */
  private readonly requiredSources: Array<() => string[]> = [];

  constructor(
    private readonly configServers: ConfigServersSource,
    private readonly engine: McpEngine,
    private readonly health: HealthService,
  ) {}

  onModuleInit(): void {
    this.health.register({ name: 'mcp-servers', check: () => Promise.resolve(this.component()) });
    this.health.addReadinessGate('required-mcp-servers', () => this.requiredServers());
  }

  /**
   * Adds ids of enabled servers marked `required: true` from another source than the configuration file (the servers
   * registered through the API), read at each readiness check.
   */
  addRequiredSource(source: () => string[]): void {
    this.requiredSources.push(source);
  }

  component(): ComponentHealth {
    const states = this.engine.listServerStates();
    const servers = Object.fromEntries(
      states.map((s) => [
        s.id,
        {
          status: s.status,
          type: s.type,
          enabled: s.enabled,
          connected: `${s.connected}/${s.poolSize}`,
          restarts: s.restarts,
          uptime_seconds: s.connectedAt ? Math.round((Date.now() - s.connectedAt.getTime()) / 1000) : null,
          last_error: s.lastError ?? null,
          last_error_at: s.lastErrorAt?.toISOString() ?? null,
        },
      ]),
    );
    const enabled = states.filter((s) => s.enabled);
    const active = enabled.filter((s) => s.status === 'active').length;
    const requiredDown = this.requiredServers().status !== 'UP';
    return {
      // Overall health degrades only when a required server is down; optional upstreams come and go.
      status: requiredDown ? 'DOWN' : 'UP',
      details: { active_count: active, total_count: states.length, enabled_count: enabled.length, servers },
    };
  }

  private requiredServers(): ComponentHealth {
    const required = new Set(
      Object.entries(this.configServers.current)
        .filter(([, entry]) => entry.enabled && entry.required)
        .map(([id]) => id),
    );
    for (const source of this.requiredSources) for (const id of source()) required.add(id);
    const active = new Set(
      this.engine
        .listServerStates()
        .filter((s) => s.status === 'active')
        .map((s) => s.id),
    );
    const down = [...required].filter((id) => !active.has(id)).sort();
    return down.length === 0 ? { status: 'UP' } : { status: 'DOWN', details: { required_servers_down: down } };
  }
}
