import { ErrorCode as RpcCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { CLIENT_CAPABILITIES_META_KEY, inputRequired, type ServerContext } from '@modelcontextprotocol/server';

/** The URL-mode elicitation code of 2025-11-25 (`URLElicitationRequiredError`). */
const URL_ELICITATION_REQUIRED = -32042;

interface UrlElicitation {
  url: string;
  message: string;
  elicitationId: string;
}

/** The URL elicitations of a `URLElicitationRequiredError` (what `toMcpError` makes of an `oauth-user` refusal). */
export function urlElicitationsOf(error: unknown): UrlElicitation[] | undefined {
  if (!(error instanceof McpError) || error.code !== URL_ELICITATION_REQUIRED) return undefined;
  const list = (error.data as { elicitations?: unknown } | undefined)?.elicitations;
  if (!Array.isArray(list)) return undefined;
  const valid = list.filter(
    (e): e is UrlElicitation => typeof e === 'object' && e !== null && typeof (e as UrlElicitation).url === 'string',
  );
  return valid.length > 0 ? valid : undefined;
}

/**
 * 2026-07-28 has no -32042 error: URL elicitation rides the multi-round-trip flow (ADR 0011). A call refused because
 * the user has not authorised an `oauth-user` upstream is answered `input_required` with one URL-mode
 * `elicitation/create` per link, to a client that declared URL elicitation; the client opens the URL and retries, and
 * the retry (no `requestState`: nothing is held between rounds) runs the call afresh. A client that did not declare it
 * gets an ordinary error naming the URL. Any other error is returned as it is.
 */
export function modernUrlElicitation(
  error: unknown,
  ctx: ServerContext | undefined,
): { answer: ReturnType<typeof inputRequired> } | { error: unknown } {
  const elicitations = urlElicitationsOf(error);
  if (!elicitations) return { error };
  const declared = ctx?.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as never] as
    { elicitation?: { url?: unknown } } | undefined;
  if (declared?.elicitation?.url !== undefined)
    return {
      answer: inputRequired({
        inputRequests: Object.fromEntries(
          elicitations.map((e) => [
            `connect-${e.elicitationId}`,
            inputRequired.elicitUrl({ url: e.url, message: e.message }),
          ]),
        ),
      }),
    };
  return {
    error: new McpError(RpcCode.InvalidRequest, (error as McpError).message, {
      code: 'UPSTREAM_AUTHORIZATION_REQUIRED',
      details: { authorization_url: elicitations[0]!.url },
    }),
  };
}
