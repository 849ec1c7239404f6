import { UpstreamPolicy } from './upstream-policy';

const resolving =
  (table: Record<string, string[]>) =>
  async (host: string): Promise<string[]> => {
    const found = table[host];
    if (!found) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return found;
  };

describe('UpstreamPolicy', () => {
  it('refuses every stdio command when allowed-commands is empty, and others than those listed', () => {
    expect(() => new UpstreamPolicy([], []).checkCommand('node')).toThrow(/allowed-commands is empty/);
    const policy = new UpstreamPolicy(['node', 'npx'], []);
    expect(() => policy.checkCommand('node')).not.toThrow();
    expect(() => policy.checkCommand('/bin/sh')).toThrow(/not on mcp.security.stdio.allowed-commands/);
  });

  it('refuses link-local and metadata addresses, literal or resolved, even with an open allow-list', async () => {
    const policy = new UpstreamPolicy([], [], resolving({ 'metadata.internal': ['10.0.0.1', '169.254.169.254'] }));
    await expect(policy.checkUrl('http://169.254.169.254/')).rejects.toThrow(/link-local or metadata/);
    await expect(policy.checkUrl('http://[fe80::1%25eth0]/')).rejects.toThrow();
    await expect(policy.checkUrl('http://metadata.internal/mcp')).rejects.toThrow(/169.254.169.254/);
    await expect(policy.checkUrl('http://[fd00:ec2::254]/')).rejects.toThrow(/link-local or metadata/);
    await expect(policy.checkUrl('https://10.1.2.3/mcp')).resolves.toBeUndefined();
  });

  it('accepts hosts by name, wildcard or CIDR when an allow-list is set', async () => {
    const policy = new UpstreamPolicy(
      [],
      ['mcp.example.com', '*.corp.example', '10.0.0.0/8', '2001:db8::/32'],
      resolving({ 'mcp.example.com': ['93.184.216.34'], 'a.corp.example': ['172.16.0.1'], inner: ['10.9.9.9'] }),
    );
    await expect(policy.checkUrl('https://mcp.example.com/mcp')).resolves.toBeUndefined();
    await expect(policy.checkUrl('https://a.corp.example/mcp')).resolves.toBeUndefined();
    await expect(policy.checkUrl('http://inner:8080/mcp')).resolves.toBeUndefined();
    await expect(policy.checkUrl('http://[2001:db8::5]/mcp')).resolves.toBeUndefined();
    await expect(policy.checkUrl('http://11.0.0.1/mcp')).rejects.toThrow(/allowed-upstream-hosts/);
  });

  it('answers 400 for a host that does not resolve', async () => {
    const policy = new UpstreamPolicy([], [], resolving({}));
    await expect(policy.checkUrl('http://nowhere.invalid/')).rejects.toMatchObject({ code: 'INVALID_PARAMETERS' });
  });
});
