import { Command, Argument } from 'commander';
import { contextOf } from '../context';

export const MCP_CLIENTS = ['vscode', 'cursor', 'claude-desktop'] as const;
export type McpClient = (typeof MCP_CLIENTS)[number];

/**
 * The configuration snippet for an MCP client: the gateway's `/mcp` (or `/mcp/<server>`) and the `X-API-Key`
 * header. The key is a placeholder unless `--with-key` asks for the one in use (a snippet is often pasted where
 * others see it).
 */
export function mcpConfigSnippet(client: McpClient, url: string, key: string): unknown {
  switch (client) {
    case 'vscode':
      // .vscode/mcp.json: VS Code prompts for the key once and keeps it in its secret storage.
      return {
        servers: {
          globalmcp: {
            type: 'http',
            url,
            headers: { 'X-API-Key': key === PLACEHOLDER ? '${input:globalmcp-api-key}' : key },
          },
        },
        ...(key === PLACEHOLDER
          ? {
              inputs: [
                { type: 'promptString', id: 'globalmcp-api-key', description: 'globalmcp API key', password: true },
              ],
            }
          : {}),
      };
    case 'cursor':
      return { mcpServers: { globalmcp: { url, headers: { 'X-API-Key': key } } } };
    case 'claude-desktop':
      // Claude Desktop starts local (stdio) servers only: mcp-remote bridges to the HTTP endpoint.
      return {
        mcpServers: {
          globalmcp: {
            command: 'npx',
            args: [
              'mcp-remote',
              url,
              '--header',
              'X-API-Key:${GLOBALMCP_API_KEY}',
              ...(url.startsWith('http:') ? ['--allow-http'] : []),
            ],
            env: { GLOBALMCP_API_KEY: key },
          },
        },
      };
  }
}

const PLACEHOLDER = 'gmcp_...';

const WHERE: Record<McpClient, string> = {
  vscode: '.vscode/mcp.json (or the user mcp.json)',
  cursor: '~/.cursor/mcp.json (or .cursor/mcp.json in a project)',
  'claude-desktop': 'claude_desktop_config.json',
};

/** `globalmcp mcp-config <client>`. */
export function mcpConfigCommand(): Command {
  return new Command('mcp-config')
    .description('print the MCP client configuration for this gateway')
    .addArgument(new Argument('<client>', 'the MCP client').choices(MCP_CLIENTS))
    .option('--server <id>', "one server's endpoint (/mcp/<id>) instead of all servers (/mcp)")
    .option('--with-key', 'put the API key in use into the snippet instead of a placeholder')
    .action((client: McpClient, options: { server?: string; withKey?: boolean }, command: Command) => {
      const { out, connection } = contextOf(command);
      const { url, apiKey } = connection();
      const endpoint = `${url}/mcp${options.server ? `/${encodeURIComponent(options.server)}` : ''}`;
      const snippet = mcpConfigSnippet(client, endpoint, options.withKey && apiKey ? apiKey : PLACEHOLDER);
      if (out.format === 'table') process.stderr.write(`# ${WHERE[client]}\n`);
      out.line(JSON.stringify(snippet, null, 2));
    });
}
