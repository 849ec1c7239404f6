import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/** A request the upstream received: its JSON-RPC method and its `traceparent` header, if any. */
export interface UpstreamRequest {
  method: string | undefined;
  traceparent: string | undefined;
}

export interface TracedHttpUpstream {
  /** The Streamable HTTP endpoint (`.../mcp`). */
  url: string;
  requests: UpstreamRequest[];
  close(): Promise<void>;
}

/**
 * A Streamable HTTP MCP server (the SDK's, stateless: a server and transport per request, as the SDK's example) on
 * loopback with one `echo` tool, which notes the `traceparent` of every request it receives.
 */
export async function startTracedHttpUpstream(): Promise<TracedHttpUpstream> {
  const requests: UpstreamRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text ? JSON.parse(text) : undefined;
      const traceparent = req.headers.traceparent;
      requests.push({
        method: (body as { method?: string } | undefined)?.method,
        traceparent: Array.isArray(traceparent) ? traceparent[0] : traceparent,
      });
      const mcp = new McpServer({ name: 'traced-upstream', version: '1.0.0' });
      mcp.registerTool(
        'echo',
        { description: 'Echoes its message', inputSchema: { message: z.string() } },
        ({ message }) => ({ content: [{ type: 'text', text: message }] }),
      );
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      mcp
        .connect(transport)
        .then(() => transport.handleRequest(req, res, body))
        .catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
