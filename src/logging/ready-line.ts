import type { AddressInfo } from 'node:net';

export interface BoundListener {
  name: string;
  /** What `server.address()` returned after listen. */
  address: AddressInfo | string | null;
  tls: boolean;
}

const WILDCARDS: Record<string, string> = { '0.0.0.0': 'every IPv4 interface', '::': 'every interface' };

/** `http://0.0.0.0:8080 (every IPv4 interface)`, `https://[::1]:8443`: the address the socket is bound to. */
export function boundAddress({ address, tls }: BoundListener): string {
  if (address === null) return 'not listening';
  if (typeof address === 'string') return address; // a Unix socket or pipe
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
  const wildcard = WILDCARDS[address.address];
  return wildcard ? `${url} (${wildcard})` : url;
}

/** The one line that says the gateway is ready, naming each listener's bound address. */
export function readyLine(version: string, listeners: BoundListener[]): string {
  return `globalmcp ${version} ready: ${listeners.map((l) => `${l.name} ${boundAddress(l)}`).join(', ')}`;
}
