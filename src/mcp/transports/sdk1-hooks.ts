import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/**
 * SDK 1 runs notification handlers a microtask late but settles responses at once: progress sent just before a
 * result (in the same read) reached the caller after the result, i.e. never (its handler is gone by then). A
 * response that arrives in the same turn as a notification is settled one macrotask later, after the handlers.
 */
export function keepNotificationsBeforeResponses(transport: Transport): void {
  const dispatch = transport.onmessage;
  if (!dispatch) return;
  let notifiedThisTurn = false;
  transport.onmessage = (message, extra) => {
    const isNotification = 'method' in message && !('id' in message);
    const isResponse = !('method' in message);
    if (isNotification && !notifiedThisTurn) {
      notifiedThisTurn = true;
      setImmediate(() => (notifiedThisTurn = false));
    }
    if (isResponse && notifiedThisTurn) setImmediate(() => dispatch(message, extra));
    else dispatch(message, extra);
  };
}

/**
 * SDK 1 hands the negotiated protocol version to the transport (`setProtocolVersion`), which only the HTTP
 * transports keep; recording it through `record` gives every transport type the same answer.
 */
export function captureProtocolVersion(transport: Transport, record: (version: string) => void): void {
  const original = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (version: string) => {
    record(version);
    original?.(version);
  };
}
