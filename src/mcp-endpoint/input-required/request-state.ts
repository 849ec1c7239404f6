import { Inject, Injectable } from '@nestjs/common';
import { createRequestStateCodec, type RequestStateCodec, type ServerContext } from '@modelcontextprotocol/server';
import { APP_CONFIG } from 'src/config/config.module';
import type { AppConfig } from 'src/config/config.schema';
import { SecretsCipher } from 'src/servers/registry/secrets-cipher';

/** The methods whose 2026-07-28 result may be `input_required` (and that the gateway relays upstream asks for). */
export type InputMethod = 'tools/call' | 'prompts/get' | 'resources/read';

/** What an `input_required` answer's `requestState` carries (signed, not encrypted: nothing secret in it). */
export interface RoundState {
  /** The pending upstream call (`PendingInput.id`), held by one replica. */
  call: string;
  /** Which round of that call this state answers: a state is good for one retry only. */
  round: number;
  /** The tool or prompt name, or the resource URI, as the client asked for it: the retry must ask the same. */
  target: string;
}

/**
 * Mints and verifies the `requestState` of the gateway's `input_required` answers with SDK 2's HMAC codec
 * (`createRequestStateCodec`: HMAC-SHA256, expiry, and a binding tag). The key is derived (HKDF) from the key of
 * secrets at rest (`mcp.security.encryption-key`), which every replica of one database already shares; the raw key is
 * never in a state. The binding is the principal, the URL's view and the method, so a state minted for one caller
 * is refused (-32602) when another presents it, on another endpoint, or for another method.
 */
@Injectable()
export class RequestStates {
  private readonly codec: RequestStateCodec<RoundState>;
  /** How long a round waits for the client's retry (and how long its state is valid). */
  readonly roundTimeoutMs: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.roundTimeoutMs = config.mcp.client.defaultTimeout;
    const { cipher } = SecretsCipher.load(config.mcp.security.encryptionKey, config.mcp.dataDir);
    this.codec = createRequestStateCodec<RoundState>({
      key: cipher.derive('mcp-request-state'),
      ttlSeconds: Math.max(1, Math.ceil(this.roundTimeoutMs / 1000)),
      bind: bindingOf,
    });
  }

  mint(state: RoundState, ctx: ServerContext): Promise<string> {
    return this.codec.mint(state, ctx);
  }

  /** `ServerOptions.requestState.verify`: throws on a bad MAC, expiry or binding (the SDK answers -32602). */
  readonly verify = (state: string, ctx: ServerContext): Promise<RoundState> => this.codec.verify(state, ctx);
}

/** Who may present a state: the principal (`authInfo.clientId`, set by the transport), the request's URL and method. */
function bindingOf(ctx: ServerContext): string {
  const auth = ctx.http?.authInfo;
  const url = ctx.http?.req?.url;
  const path = url ? new URL(url).pathname : '';
  return `${auth?.clientId ?? 'anonymous'}\u0000${path}\u0000${ctx.mcpReq.method}`;
}
