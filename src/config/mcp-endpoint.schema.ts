import { z } from 'zod';
import { bool, duration, int, meta, stringList } from './config-types';

/** The `mcp.endpoint.*` keys: the MCP front door (both protocol eras, sessions, caching, listen streams, Tasks). */
export const mcpEndpointSchema = z
  .object({
    enabled: meta(bool().default(true), {
      description:
        'Serve the MCP front door: `/mcp` (aggregated), `/mcp/{server_id}`, and the legacy `/sse` + `/messages` pair.',
    }),
    separator: meta(
      z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,8}$/, 'one to eight letters, digits, `_`, `.` or `-` (valid in MCP tool names)')
        .default('__'),
      {
        description:
          'Joins server id and upstream name on `/mcp`: `<server_id><separator><name>` for tools and prompts.',
      },
    ),
    sessionIdleTimeout: meta(duration().default(1_800_000), {
      description: 'An MCP session with no request for this long expires (ms); its next request gets 404.',
    }),
    maxSessions: meta(int(1).default(10_000), {
      description: 'Live MCP sessions across the replicas sharing a Redis (per process without Redis); beyond: 503.',
    }),
    forwardClientCapabilities: meta(bool().default(true), {
      description:
        'Announce sampling, elicitation and roots to upstreams, so their requests reach the MCP client whose call is in flight.',
    }),
    dnsRebindingProtection: meta(bool().default(true), {
      description:
        'On a loopback bind, refuse MCP requests whose Host is not a loopback name or whose Origin is not a loopback origin (403).',
    }),
    allowedHosts: meta(stringList().default([]), {
      description: 'Further Host values (`name:port`) accepted by the DNS-rebinding check.',
    }),
    allowedOrigins: meta(stringList().default([]), {
      description: 'Further Origin values (`scheme://name:port`) accepted by the DNS-rebinding check.',
    }),
    ssePollAfter: meta(duration().default(30_000), {
      description:
        'MCP 2025-11-25 clients: a call still running after this long has its event stream closed; the client ' +
        'resumes with GET + Last-Event-ID and gets what it missed (ms, 0: never).',
    }),
    listTtl: meta(duration().default(10_000), {
      description:
        'MCP 2026-07-28: how long a client may reuse `server/discover` and the tool, prompt, resource and ' +
        'resource-template lists (`ttlMs`, ms). 0: not cacheable. A catalog change within it is seen at the next fetch.',
    }),
    readTtl: meta(duration().default(0), {
      description:
        'MCP 2026-07-28: how long a client may reuse a `resources/read` result (`ttlMs`, ms). 0: read again each time.',
    }),
    cacheScope: meta(z.enum(['auto', 'private', 'public']).default('auto'), {
      description:
        'MCP 2026-07-28 `cacheScope` of lists and reads: `auto` is `private` (per caller) when the request carries a ' +
        'credential, since allow-lists, scopes and tool rules shape what it sees, and `public` without authentication.',
    }),
    maxListenStreams: meta(int(1).default(1_000), {
      description:
        'MCP 2026-07-28: `subscriptions/listen` streams open at once on this process; a further listen is refused ' +
        '(`-32603` "Subscription limit reached"). Each holds a connection until its client leaves.',
    }),
    taskSyncWindow: meta(duration().default(1_000), {
      description:
        'MCP 2026-07-28 Tasks: a `tools/call` of a client declaring the extension, to a tool without a task hint, ' +
        'answers its result when it ends within this long, else a task (ms); to a `required` tool, from a client ' +
        'that can be asked, what the upstream asks within it is answered as input-required rounds before the task ' +
        'is handed out. 0: a task at once.',
    }),
    taskPollInterval: meta(duration().default(1_000), {
      description: 'MCP 2026-07-28 Tasks: the `pollIntervalMs` a working task suggests to its client (ms, at least 1).',
    }),
  })
  .prefault({});
