import { boundAddress, readyLine } from './ready-line';

describe('readyLine', () => {
  it('names the address each listener is bound to, wildcards said in words', () => {
    expect(
      readyLine('1.2.3', [
        { name: 'api', address: { address: '0.0.0.0', family: 'IPv4', port: 8080 }, tls: false },
        { name: 'management', address: { address: '127.0.0.1', family: 'IPv4', port: 8081 }, tls: true },
        { name: 'metrics', address: { address: '::', family: 'IPv6', port: 9090 }, tls: false },
      ]),
    ).toBe(
      'globalmcp 1.2.3 ready: api http://0.0.0.0:8080 (every IPv4 interface), management https://127.0.0.1:8081, ' +
        'metrics http://[::]:9090 (every interface)',
    );
  });

  it('writes IPv6 hosts in brackets and Unix sockets as their path', () => {
    expect(boundAddress({ name: 'api', address: { address: '::1', family: 'IPv6', port: 443 }, tls: true })).toBe(
      'https://[::1]:443',
    );
    expect(boundAddress({ name: 'api', address: '/run/globalmcp.sock', tls: false })).toBe('/run/globalmcp.sock');
  });
});
