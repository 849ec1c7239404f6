import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { CallOrigin } from 'src/mcp/mcp-engine';
import type { ClientScope } from './client-scope';

/** The capability a server-to-client request needs from the client. */
export const CLIENT_CAPABILITY_FOR: Record<string, 'sampling' | 'elicitation' | 'roots'> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/** What a `ClientOrigin` needs from the session relay. */
export interface ClientAsker {
  readonly forwardsClientRequests: boolean;
  askClient(
    scope: ClientScope,
    relatedRequestId: RequestId,
    method: string,
    params: Record<string, unknown> | undefined,
    signal: AbortSignal,
  ): Promise<unknown>;
}

/**
 * Answers an upstream's server-to-client requests during one client request (see `CallOrigin`). The calls of one
 * session form one group; they can answer when the client declared sampling, elicitation or roots at initialize
 * and the gateway forwards those to upstreams (a request without a session, of a client that declared none, or with
 * forwarding off is placed and routed like a REST call).
 */
export class ClientOrigin implements CallOrigin {
  readonly group: string;
  readonly answers: boolean;

  constructor(
    private readonly relay: ClientAsker,
    readonly scope: ClientScope,
    readonly requestId: RequestId,
  ) {
    this.group = scope.sessionId;
    const caps = scope.session?.clientCapabilities;
    this.answers =
      relay.forwardsClientRequests &&
      caps !== undefined &&
      Object.values(CLIENT_CAPABILITY_FOR).some((c) => caps[c] !== undefined);
  }

  /** What the client declared of the three, sent as the call's capabilities to a 2026-07-28 upstream (ADR 0012). */
  get clientCapabilities(): Readonly<Record<string, unknown>> | undefined {
    const caps = this.scope.session?.clientCapabilities;
    if (!caps) return undefined;
    const declared: Record<string, unknown> = {};
    for (const c of Object.values(CLIENT_CAPABILITY_FOR)) if (caps[c] !== undefined) declared[c] = caps[c];
    return declared;
  }

  request(method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown> {
    return this.relay.askClient(this.scope, this.requestId, method, params, signal);
  }
}
