import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { checkSize, type FailedCall, toEngineError } from './connection-errors';
import { EngineErrorCode } from './engine-error';

const call = (over: Partial<FailedCall> = {}): FailedCall => ({
  serverId: 's',
  method: 'tools/call',
  timeoutMs: 100,
  started: 0,
  now: 150,
  open: true,
  closeReason: undefined,
  ...over,
});

describe('toEngineError: the same engine error for the same condition on either SDK generation', () => {
  it("maps the upstream's JSON-RPC error (SDK 1 McpError, SDK 2 ProtocolError) to UPSTREAM_ERROR with its code", () => {
    const one = toEngineError(new McpError(-32602, 'Unknown tool: x'), call());
    const two = toEngineError(new ProtocolError(-32602, 'Unknown tool: x'), call());
    for (const e of [one, two]) {
      expect(e.code).toBe(EngineErrorCode.UPSTREAM_ERROR);
      expect(e.details).toMatchObject({ rpcCode: -32602, rpcMessage: 'Unknown tool: x' });
    }
  });

  it("maps the SDK's own timer to TIMEOUT (both generations) once the call's time is up", () => {
    const sdk1 = new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: 100 });
    const sdk2 = new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: 100 });
    expect(toEngineError(sdk1, call()).code).toBe(EngineErrorCode.TIMEOUT);
    expect(toEngineError(sdk2, call()).code).toBe(EngineErrorCode.TIMEOUT);
  });

  it("maps the caller's cancel to CANCELLED whatever the SDK threw", () => {
    const controller = new AbortController();
    controller.abort('bye');
    const e = new SdkError(SdkErrorCode.RequestTimeout, 'bye');
    expect(toEngineError(e, call({ signal: controller.signal })).code).toBe(EngineErrorCode.CANCELLED);
  });

  it('maps a closed connection and a failed stateless fetch to CONNECTION_LOST', () => {
    const closed = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
    expect(toEngineError(closed, call()).code).toBe(EngineErrorCode.CONNECTION_LOST);
    expect(toEngineError(new TypeError('fetch failed'), call()).code).toBe(EngineErrorCode.CONNECTION_LOST);
    const gone = toEngineError(new McpError(-32603, 'x'), call({ open: false, closeReason: 'process exited' }));
    expect(gone.code).toBe(EngineErrorCode.CONNECTION_LOST);
    expect(gone.message).toContain('process exited');
  });

  it('answers a 2025 method the 2026-07-28 revision dropped as method-not-found from the upstream', () => {
    const dropped = new SdkError(SdkErrorCode.MethodNotSupportedByProtocolVersion, "Method 'resources/subscribe' ...");
    const e = toEngineError(dropped, call({ method: 'resources/subscribe' }));
    expect(e.code).toBe(EngineErrorCode.UPSTREAM_ERROR);
    expect(e.details).toMatchObject({ rpcCode: -32601 });
  });

  it('calls anything else an invalid response (PROTOCOL_ERROR)', () => {
    expect(toEngineError(new Error('bad shape'), call()).code).toBe(EngineErrorCode.PROTOCOL_ERROR);
  });

  it('refuses results above the size limit', () => {
    expect(() => checkSize('s', { text: 'x'.repeat(100) }, 50)).toThrow(/exceeds the limit of 50 bytes/);
    expect(() => checkSize('s', { text: 'ok' }, 50)).not.toThrow();
  });
});
