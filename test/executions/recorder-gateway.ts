import { ADMIN_HEADERS } from '../support/auth';
import { spawnGateway, toolsListed, type SpawnedGateway } from '../support/child-gateway';
import { RECORDER } from '../support/paths';

/**
 * A built gateway with the cancel-recorder server, heartbeating every 200 ms and counting a process silent for 3 s as
 * dead: what the kill -9 tests need to see a killed replica's calls swept within seconds.
 */
export function spawnRecorderGateway(databaseUrl: string): Promise<SpawnedGateway> {
  return spawnGateway({
    databaseUrl,
    yaml: `mcp:\n  servers:\n    recorder:\n      type: stdio\n      command: ${process.execPath}\n      args: ["${RECORDER}"]\n`,
    env: { MCP_EXECUTIONS_HEARTBEAT_INTERVAL: '200', MCP_EXECUTIONS_ORPHAN_AFTER: '3000' },
    readyWhen: toolsListed('recorder', ADMIN_HEADERS),
  });
}
