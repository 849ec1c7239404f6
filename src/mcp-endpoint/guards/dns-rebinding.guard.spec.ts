import type { AppConfig } from 'src/config/config.schema';
import { AppException } from 'src/common/errors/app.exception';
import { DnsRebindingGuard } from './dns-rebinding.guard';

function guard(address: string | undefined, endpoint: Partial<AppConfig['mcp']['endpoint']> = {}): DnsRebindingGuard {
  const config = {
    server: { address },
    mcp: {
      endpoint: { dnsRebindingProtection: true, allowedHosts: [], allowedOrigins: [], ...endpoint },
    },
  } as unknown as AppConfig;
  return new DnsRebindingGuard(config);
}

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error as AppException;
  }
  throw new Error('expected a refusal');
};

describe('DnsRebindingGuard', () => {
  it('accepts loopback Host names and Origins on a loopback bind', () => {
    const g = guard('127.0.0.1');
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'localhost']) {
      expect(() => g.check({ headers: { host } })).not.toThrow();
    }
    expect(() => g.check({ headers: { host: 'localhost:8080', origin: 'http://localhost:3000' } })).not.toThrow();
  });

  it('refuses a foreign Host or Origin with 403 DNS_REBINDING_PROTECTION', () => {
    const g = guard('localhost');
    const host = refusal(() => g.check({ headers: { host: 'evil.example:8080' } }));
    expect(host).toBeInstanceOf(AppException);
    expect(host.status).toBe(403);
    expect(host.details).toEqual({ reason: 'DNS_REBINDING_PROTECTION' });
    const origin = refusal(() => g.check({ headers: { host: 'localhost', origin: 'http://evil.example' } }));
    expect(origin.message).toContain("Origin 'http://evil.example'");
    expect(refusal(() => g.check({ headers: { host: 'localhost', origin: 'not a url' } })).status).toBe(403);
  });

  it('takes configured extra hosts and origins', () => {
    const g = guard('127.0.0.1', { allowedHosts: ['gw.internal:8080'], allowedOrigins: ['https://app.example'] });
    expect(() => g.check({ headers: { host: 'gw.internal:8080', origin: 'https://app.example' } })).not.toThrow();
    expect(() => g.check({ headers: { host: 'gw.internal:9090' } })).toThrow(AppException);
  });

  it('checks nothing on a non-loopback bind or with the protection off', () => {
    expect(() => guard(undefined).check({ headers: { host: 'evil.example' } })).not.toThrow();
    expect(() => guard('10.0.0.5').check({ headers: { host: 'evil.example' } })).not.toThrow();
    const off = guard('127.0.0.1', { dnsRebindingProtection: false });
    expect(() => off.check({ headers: { host: 'evil.example', origin: 'http://evil.example' } })).not.toThrow();
  });
});
