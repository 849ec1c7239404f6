import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';

/** Link-local and cloud metadata addresses: never a valid upstream of a server registered through the API. */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');

const denied = (message: string, details?: unknown) =>
  new AppException(ErrorCode.AUTHORIZATION_DENIED, message, details);

/** `::ffff:169.254.169.254` is checked as the IPv4 address it carries. */
function normalise(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return { address: mapped[1], family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/**
 * What a server registered through the API may run or reach (`mcp.security.stdio.allowed-commands`,
 * `mcp.security.allowed-upstream-hosts`). Servers from the configuration file are trusted and not checked.
 */
export class UpstreamPolicy {
  private readonly hosts: string[] = [];
  private readonly networks = new BlockList();
  private hasNetworks = false;

  constructor(
    private readonly allowedCommands: readonly string[],
    allowedHosts: readonly string[],
    private readonly resolve: (host: string) => Promise<string[]> = async (host) =>
      (await lookup(host, { all: true, verbatim: true })).map((a) => a.address),
  ) {
    for (const raw of allowedHosts) {
      const entry = raw.trim().toLowerCase();
      const [base = '', prefix] = entry.split('/');
      const family = isIP(base);
      if (family && prefix !== undefined) {
        this.networks.addSubnet(base, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
        this.hasNetworks = true;
      } else if (family) {
        this.networks.addAddress(base, family === 6 ? 'ipv6' : 'ipv4');
        this.hasNetworks = true;
      } else if (entry) {
        this.hosts.push(entry);
      }
    }
  }

  checkCommand(command: string): void {
    if (this.allowedCommands.length === 0)
      throw denied('stdio servers cannot be registered through the API: mcp.security.stdio.allowed-commands is empty', {
        field: 'configuration.command',
      });
    if (!this.allowedCommands.includes(command))
      throw denied(`command '${command}' is not on mcp.security.stdio.allowed-commands`, {
        field: 'configuration.command',
        allowed: [...this.allowedCommands],
      });
  }

  /** Every address the URL's host resolves to must be allowed; link-local/metadata ones never are. */
  async checkUrl(url: string, field = 'configuration.url'): Promise<void> {
    await this.allowedAddresses(url, field);
  }

  /**
   * The addresses of the URL's host once checked as in `checkUrl`, so a caller can connect to exactly those (no
   * second resolution that DNS rebinding could answer differently).
   */
  async allowedAddresses(url: string, field = 'configuration.url'): Promise<string[]> {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.resolve(host);
    } catch (error) {
      throw AppException.invalid(`host '${host}' does not resolve: ${(error as Error).message}`, { field });
    }
    if (addresses.length === 0) throw AppException.invalid(`host '${host}' does not resolve`, { field });
    for (const raw of addresses) {
      const { address, family } = normalise(raw);
      if (FORBIDDEN.check(address, family))
        throw denied(`upstream host '${host}' resolves to a link-local or metadata address (${address})`, { field });
    }
    if (this.hosts.length === 0 && !this.hasNetworks) return addresses;
    const byName = this.hosts.some((h) => h === host || (h.startsWith('*.') && host.endsWith(h.slice(1))));
    const byAddress =
      this.hasNetworks &&
      addresses.every((raw) => {
        const { address, family } = normalise(raw);
        return this.networks.check(address, family);
      });
    if (!byName && !byAddress)
      throw denied(`upstream host '${host}' is not on mcp.security.allowed-upstream-hosts`, { field });
    return addresses;
  }
}
