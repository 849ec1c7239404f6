import type { Principal } from 'src/auth/principal';
import { policyRuleSchema, type PolicyRuleInput } from 'src/config/policy-rule.schema';
import { DEFAULT_EFFECT_RULE, PolicyEvaluator, type PolicyEffect, type PolicySubject } from './policy-evaluator';

const rule = (input: PolicyRuleInput) => ({ ...policyRuleSchema.parse(input), source: 'config' as const });
const evaluator = (rules: PolicyRuleInput[], defaultEffect: PolicyEffect = 'allow') =>
  new PolicyEvaluator(rules.map(rule), defaultEffect);

const key = (over: Partial<Principal> = {}): Principal => ({
  kind: 'api-key',
  id: 'key:11111111-1111-4111-8111-111111111111',
  subject: 'ci',
  scopes: new Set(['mcp:read', 'mcp:write']),
  servers: null,
  tier: 'pro',
  ...over,
});
const token = (claims: Record<string, unknown>): Principal => ({
  kind: 'jwt',
  id: 'jwt::alice',
  subject: 'alice',
  scopes: new Set(['mcp:read', 'mcp:write']),
  servers: null,
  tier: null,
  claims,
});
const subject = (
  principal: Principal | undefined,
  name: string,
  annotations?: Record<string, unknown>,
  serverId = 'everything',
): PolicySubject => ({ principal, serverId, tool: { name, ...(annotations ? { annotations } : {}) } });

describe('PolicyEvaluator', () => {
  it('allows everything by default when there is no rule, naming the default', () => {
    expect(evaluator([]).decide(subject(key(), 'echo'))).toEqual({
      effect: 'allow',
      rule: DEFAULT_EFFECT_RULE,
      matched: [],
    });
    expect(evaluator([], 'deny').decide(subject(key(), 'echo')).effect).toBe('deny');
  });

  it('denies by tool pattern and server, and leaves other servers and tools alone', () => {
    const policy = evaluator([{ id: 'no-deletes', effect: 'deny', server: 'everything', tool: 'delete_*' }]);
    expect(policy.decide(subject(key(), 'delete_file')).rule).toBe('no-deletes');
    expect(policy.decide(subject(key(), 'delete_file')).effect).toBe('deny');
    expect(policy.decide(subject(key(), 'delete_file', undefined, 'other')).effect).toBe('allow');
    expect(policy.decide(subject(key(), 'echo')).effect).toBe('allow');
  });

  it('lets a deny win over an allow whatever their order, and names the first deny in order', () => {
    const rules: PolicyRuleInput[] = [
      { id: 'allow-all', effect: 'allow' },
      { id: 'deny-echo', effect: 'deny', tool: 'echo' },
      { id: 'deny-e', effect: 'deny', tool: 'e*' },
    ];
    expect(evaluator(rules).decide(subject(key(), 'echo'))).toEqual({
      effect: 'deny',
      rule: 'deny-echo',
      matched: ['allow-all', 'deny-echo', 'deny-e'],
    });
    expect(evaluator([...rules].reverse()).decide(subject(key(), 'echo')).rule).toBe('deny-e');
  });

  it('under a default of deny, allows only what an allow rule covers', () => {
    const policy = evaluator([{ id: 'reads', effect: 'allow', tool: 'get_*' }], 'deny');
    expect(policy.decide(subject(key(), 'get_env'))).toMatchObject({ effect: 'allow', rule: 'reads' });
    expect(policy.decide(subject(key(), 'echo'))).toMatchObject({ effect: 'deny', rule: DEFAULT_EFFECT_RULE });
  });

  it('tests scopes, tiers and API key ids of the caller (any value of a list)', () => {
    const policy = evaluator([
      { id: 'writers', effect: 'deny', tool: 'a', when: { scopes: ['mcp:admin', 'mcp:write'] } },
      { id: 'free', effect: 'deny', tool: 'b', when: { tiers: ['free'] } },
      { id: 'that-key', effect: 'deny', tool: 'c', when: { api_keys: ['11111111-1111-4111-8111-111111111111'] } },
    ]);
    expect(policy.decide(subject(key(), 'a')).effect).toBe('deny');
    expect(policy.decide(subject(key({ scopes: new Set(['mcp:read']) }), 'a')).effect).toBe('allow');
    expect(policy.decide(subject(key({ tier: 'free' }), 'b')).effect).toBe('deny');
    expect(policy.decide(subject(key(), 'b')).effect).toBe('allow');
    expect(policy.decide(subject(key(), 'c')).effect).toBe('deny');
    expect(policy.decide(subject(key({ id: 'key:other' }), 'c')).effect).toBe('allow');
    // A token's principal id is never an API key's, even with the same text after the prefix.
    expect(policy.decide(subject({ ...token({}), id: 'key:11111111-1111-4111-8111-111111111111' }, 'c')).effect).toBe(
      'allow',
    );
  });

  it('tests a claim that is a string or a list (groups contains admins)', () => {
    const policy = evaluator([
      { id: 'admins-only', effect: 'deny', tool: 'delete_*', unless: { claims: { groups: 'admins' } } },
    ]);
    expect(policy.decide(subject(token({ groups: ['dev', 'admins'] }), 'delete_x')).effect).toBe('allow');
    expect(policy.decide(subject(token({ groups: 'admins' }), 'delete_x')).effect).toBe('allow');
    expect(policy.decide(subject(token({ groups: ['dev'] }), 'delete_x')).rule).toBe('admins-only');
    expect(policy.decide(subject(token({}), 'delete_x')).effect).toBe('deny');
    // An API key has no claims: the exception does not hold for it.
    expect(policy.decide(subject(key(), 'delete_x')).effect).toBe('deny');
  });

  it("tests the tool's annotations, with the specification's defaults for hints the tool does not set", () => {
    const policy = evaluator([
      {
        id: 'contractors-read-only',
        effect: 'deny',
        when: { claims: { groups: ['contractors'] } },
        unless: { annotations: { readOnlyHint: true } },
      },
    ]);
    const contractor = token({ groups: ['contractors'] });
    expect(policy.decide(subject(contractor, 'get_env', { readOnlyHint: true })).effect).toBe('allow');
    expect(policy.decide(subject(contractor, 'echo')).effect).toBe('deny');
    expect(policy.decide(subject(contractor, 'echo', { readOnlyHint: false })).effect).toBe('deny');
    expect(policy.decide(subject(token({ groups: ['staff'] }), 'echo')).effect).toBe('allow');
    const destructive = evaluator([{ id: 'd', effect: 'deny', when: { annotations: { destructiveHint: true } } }]);
    expect(destructive.decide(subject(key(), 'unannotated')).effect).toBe('deny');
    expect(destructive.decide(subject(key(), 'safe', { destructiveHint: false })).effect).toBe('allow');
  });

  it('never matches conditions on the caller without a caller, so an exception for someone excludes anonymous', () => {
    const policy = evaluator([
      { id: 'writers', effect: 'deny', tool: 'a', when: { scopes: ['mcp:write'] } },
      { id: 'all-but-admins', effect: 'deny', tool: 'b', unless: { scopes: ['mcp:admin'] } },
      { id: 'everyone', effect: 'deny', tool: 'c' },
    ]);
    expect(policy.decide(subject(undefined, 'a')).effect).toBe('allow');
    expect(policy.decide(subject(undefined, 'b')).effect).toBe('deny');
    expect(policy.decide(subject(undefined, 'c')).effect).toBe('deny');
  });

  it('requires every condition of a block (AND), any value of each list (OR)', () => {
    const policy = evaluator([
      { id: 'both', effect: 'deny', when: { tiers: ['pro'], claims: { groups: ['x'], dept: ['eng', 'ops'] } } },
    ]);
    expect(policy.decide(subject({ ...token({ groups: ['x'], dept: 'ops' }), tier: 'pro' }, 't')).effect).toBe('deny');
    expect(policy.decide(subject({ ...token({ groups: ['x'], dept: 'hr' }), tier: 'pro' }, 't')).effect).toBe('allow');
    expect(policy.decide(subject(token({ groups: ['x'], dept: 'ops' }), 't')).effect).toBe('allow');
  });
});

describe('policyRuleSchema', () => {
  const problems = (input: unknown) => {
    const parsed = policyRuleSchema.safeParse(input);
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('fills server and tool with `*`', () => {
    expect(policyRuleSchema.parse({ id: 'r', effect: 'deny' })).toEqual({
      id: 'r',
      effect: 'deny',
      server: '*',
      tool: '*',
    });
  });

  it('refuses an invalid pattern, an unknown effect, an unknown condition or annotation, an empty block', () => {
    expect(problems({ id: 'r', effect: 'deny', tool: 'delete_[' })).toEqual([
      expect.stringMatching(/^tool: tool is a name pattern/),
    ]);
    expect(problems({ id: 'r', effect: 'maybe' })).toEqual(['effect: effect is `allow` or `deny`']);
    expect(problems({ id: 'r', effect: 'deny', when: { group: ['x'] } })).toContainEqual(
      'when: Unrecognized key: "group"',
    );
    expect(problems({ id: 'r', effect: 'deny', when: { annotations: { readonly: true } } })).toContainEqual(
      'when.annotations: Unrecognized key: "readonly"',
    );
    expect(problems({ id: 'r', effect: 'deny', when: {} })).toEqual([
      'when: give at least one condition, or leave it out',
    ]);
    expect(problems({ id: 'bad id', effect: 'deny' })).toHaveLength(1);
    expect(problems({ id: 'r', effect: 'deny', server: 'no spaces' })).toHaveLength(1);
  });
});
