import { EVERYTHING, TOOLBOX } from '../support/paths';

/** The upstreams of the MCP front door tests: server-everything and the toolbox fixture, both over stdio. */
export const EVERYTHING_AND_TOOLBOX_YAML = `mcp:
  client:
    default-timeout: 15000
  servers:
    everything:
      type: stdio
      command: node
      args: ["${EVERYTHING}", stdio]
    toolbox:
      type: stdio
      command: node
      args: ["${TOOLBOX}"]
`;
