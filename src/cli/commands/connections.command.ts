import { Command } from 'commander';
import { unwrap } from '../client';
import { contextOf } from '../context';

/** `globalmcp connections list|revoke`: the caller's own authorisations of `oauth-user` servers (ADR 0011). */
export function connectionsCommand(): Command {
  const connections = new Command('connections').description(
    'your authorisations of servers that act as each user (oauth-user)',
  );

  connections
    .command('list')
    .description('servers you authorised the gateway at: scopes, expiry, when (never a token)')
    .action(async (_options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(await connection().api.GET('/api/connections'));
      out.table(data, data.connections, {
        server: (c) => c.server_id,
        scopes: (c) => c.scopes.join(' '),
        expires: (c) => c.expires_at,
        created: (c) => c.created_at,
        refreshed: (c) => c.refreshed_at,
        issuer: (c) => c.issuer,
      });
    });

  connections
    .command('connect <server_id>')
    .description('print a link to open in a browser to authorise the gateway at a server (needs mcp:write)')
    .action(async (serverId: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(
        await connection().api.POST('/api/connections/{server_id}', { params: { path: { server_id: serverId } } }),
      );
      out.fields(data, { server: data.server_id, link: data.authorization_url, expires: data.expires_at });
      if (out.format === 'table') process.stderr.write('Open the link in a browser; it works once, for you only.\n');
    });

  connections
    .command('revoke <server_id>')
    .description('forget your tokens for a server and revoke them at its authorization server (needs mcp:write)')
    .action(async (serverId: string, _options: unknown, command: Command) => {
      const { out, connection } = contextOf(command);
      const data = unwrap(
        await connection().api.DELETE('/api/connections/{server_id}', { params: { path: { server_id: serverId } } }),
      );
      const where = data.revoked_at_authorization_server
        ? 'revoked at the authorization server too'
        : 'the authorization server offers no revocation (its tokens expire on their own)';
      out.done(data, `revoked ${serverId}: ${where}`);
    });

  return connections;
}
