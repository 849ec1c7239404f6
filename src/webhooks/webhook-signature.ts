import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names of a delivery. */
export const SIGNATURE_HEADER = 'X-GlobalMCP-Signature';
export const TIMESTAMP_HEADER = 'X-GlobalMCP-Timestamp';
export const EVENT_HEADER = 'X-GlobalMCP-Event';
export const DELIVERY_HEADER = 'X-GlobalMCP-Delivery';

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. The timestamp (epoch seconds) is signed with the body so a
 * receiver that rejects old timestamps cannot be fed a replayed delivery.
 */
export function signDelivery(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (constant-time comparison); used by the tests and given as the reference. */
export function verifyDelivery(secret: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(signDelivery(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
