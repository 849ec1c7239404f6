import proxyAddr from '@fastify/proxy-addr';
import type { IncomingMessage } from 'node:http';
import { TRUSTED_PROXIES } from './fastify-adapter';

// The same trust function Fastify builds from `trustProxy` (it compiles the list with @fastify/proxy-addr).
const trust = proxyAddr.compile(TRUSTED_PROXIES);

/** The client address Fastify derives for a peer and its X-Forwarded-For. */
function clientOf(peer: string, forwardedFor?: string): string {
  const request = {
    socket: { remoteAddress: peer },
    connection: { remoteAddress: peer },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  } as unknown as IncomingMessage;
  return proxyAddr(request, trust);
}

describe('forwarding headers (trusted proxies)', () => {
  it('ignores X-Forwarded-For from a peer on the internet: its own address counts', () => {
    expect(clientOf('203.0.113.7', '198.51.100.1')).toBe('203.0.113.7');
    expect(clientOf('2001:db8::7', '198.51.100.1')).toBe('2001:db8::7');
  });

  it('believes a proxy on a private network or loopback', () => {
    for (const proxy of ['10.1.2.3', '172.20.0.5', '192.168.1.1', '127.0.0.1', '::1', 'fd00::5']) {
      expect(clientOf(proxy, '198.51.100.1')).toBe('198.51.100.1');
    }
  });

  it('stops at the first untrusted hop: a client cannot prepend its own X-Forwarded-For entries', () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the ingress (10.0.0.2) appended the client's real address.
    expect(clientOf('10.0.0.2', '1.2.3.4, 198.51.100.9')).toBe('198.51.100.9');
  });
});
