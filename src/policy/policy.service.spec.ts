import { EventEmitter } from 'node:events';
import type { Counter } from 'prom-client';
import type { Principal } from 'src/auth/principal';
import type { AppConfig } from 'src/config/config.schema';
import { policyRuleSchema, type PolicyRuleInput } from 'src/config/policy-rule.schema';
import type { McpEngine } from 'src/mcp/mcp-engine';
import type { PgNotifications } from 'src/database/pg-notifications';
import type { PolicyRuleEntity } from './policy-rule.entity';
import type { PolicyRulesRepository } from './policy-rules.repository';
import { PolicyService } from './policy.service';

const caller: Principal = {
  kind: 'api-key',
  id: 'key:k1',
  subject: 'ci',
  scopes: new Set(['mcp:write']),
  servers: null,
  tier: null,
};

function row(id: string, tool: string, effect: 'allow' | 'deny' = 'deny'): PolicyRuleEntity {
  const now = new Date();
  return {
    id,
    effect,
    server: '*',
    tool,
    description: null,
    when: null,
    unless: null,
    createdAt: now,
    updatedAt: now,
  };
}

function setup(configRules: PolicyRuleInput[] = [], stored: PolicyRuleEntity[] = []) {
  const config = {
    mcp: { policy: { defaultEffect: 'allow', rules: configRules.map((r) => policyRuleSchema.parse(r)) } },
  } as unknown as AppConfig;
  const repository = { listInOrder: jest.fn(() => Promise.resolve([...stored])) };
  let subscriber: { onPayload(p: string): void; onReconnected?(): void } | undefined;
  const notifications = {
    subscribe: jest.fn((_channel: string, s: typeof subscriber) => {
      subscriber = s;
      return Promise.resolve(() => undefined);
    }),
  };
  const denials = { inc: jest.fn() };
  const engine = new EventEmitter() as EventEmitter & { listServerStates(): { id: string }[] };
  engine.listServerStates = () => [{ id: 'fs' }, { id: 'github' }];
  const service = new PolicyService(
    config,
    repository as unknown as PolicyRulesRepository,
    notifications as unknown as PgNotifications,
    denials as unknown as Counter<'server' | 'rule'>,
    engine as unknown as McpEngine,
  );
  return { service, repository, denials, engine, stored, notify: () => subscriber!.onPayload('x') };
}

describe('PolicyService', () => {
  it('refuses a denied call with 403 naming the rule, and counts it by server and rule', () => {
    const { service, denials } = setup([{ id: 'no-deletes', effect: 'deny', tool: 'delete_*' }]);
    expect(() => service.assertCallAllowed(caller, 'fs', { name: 'delete_file' })).toThrow(
      expect.objectContaining({
        code: 'AUTHORIZATION_DENIED',
        details: { rule: 'no-deletes', server_id: 'fs', tool: 'delete_file' },
      }),
    );
    expect(denials.inc).toHaveBeenCalledWith({ server: 'fs', rule: 'no-deletes' });
    expect(() => service.assertCallAllowed(caller, 'fs', { name: 'read_file' })).not.toThrow();
    expect(service.permits(caller, 'fs', { name: 'delete_file' })).toBe(false);
  });

  it('answers the same 403 for a read of the tool without counting it as a denied call', () => {
    const { service, denials } = setup([{ id: 'no-deletes', effect: 'deny', tool: 'delete_*' }]);
    expect(() => service.assertVisible(caller, 'fs', { name: 'delete_file' })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ rule: 'no-deletes' }) }),
    );
    expect(denials.inc).not.toHaveBeenCalled();
  });

  it('applies stored rules after the configuration rules, and reloads them on a notice', async () => {
    const { service, stored, notify, repository } = setup(
      [{ id: 'cfg', effect: 'deny', tool: 'a' }],
      [row('api-1', 'b')],
    );
    await service.onApplicationBootstrap();
    expect(service.rules.map((r) => [r.id, r.source])).toEqual([
      ['cfg', 'config'],
      ['api-1', 'api'],
    ]);
    stored.push(row('api-2', 'c'));
    notify();
    await service.reload();
    expect(service.permits(caller, 's', { name: 'c' })).toBe(false);
    expect(repository.listInOrder.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('coalesces reloads asked for while one runs into one more read', async () => {
    const { service, repository } = setup();
    await Promise.all([service.reload(), service.reload(), service.reload(), service.reload()]);
    expect(repository.listInOrder).toHaveBeenCalledTimes(2);
  });

  it('leaves out a stored rule that no longer parses, and keeps the last rules when the database fails', async () => {
    const { service, stored, repository } = setup([], [row('ok', 'x'), row('broken', 'bad[')]);
    await service.reload();
    expect(service.rules.map((r) => r.id)).toEqual(['ok']);
    repository.listInOrder.mockImplementationOnce(() => Promise.reject(new Error('connection lost')));
    stored.length = 0;
    await service.reload();
    expect(service.rules.map((r) => r.id)).toEqual(['ok']);
  });
  it('creates the denial series at 0 for each server a deny rule can apply to, and for servers added later', async () => {
    const { service, denials, engine } = setup([
      { id: 'no-deletes', effect: 'deny', tool: 'delete_*' },
      { id: 'no-github-push', effect: 'deny', server: 'github', tool: 'push' },
      { id: 'reads', effect: 'allow', tool: 'read_*' },
    ]);
    await service.onApplicationBootstrap();
    const declared = () => denials.inc.mock.calls.filter((c) => c[1] === 0).map((c) => c[0] as object);
    expect(declared()).toEqual(
      expect.arrayContaining([
        { server: 'fs', rule: 'no-deletes' },
        { server: 'github', rule: 'no-deletes' },
        { server: 'github', rule: 'no-github-push' },
      ]),
    );
    expect(declared()).not.toContainEqual({ server: 'fs', rule: 'no-github-push' });
    expect(declared()).not.toContainEqual(expect.objectContaining({ rule: 'reads' }));
    engine.emit('server.status', { serverId: 'added-later' });
    expect(declared()).toContainEqual({ server: 'added-later', rule: 'no-deletes' });
  });
});
