import { policyRuleSchema } from './policy-rule.schema';

describe('policyRuleSchema', () => {
  it('refuses control characters in what a person writes (PostgreSQL refuses NUL; escapes do not belong in a rule)', () => {
    for (const rule of [
      { id: 'r', effect: 'allow', description: 'a\u0000b' },
      { id: 'r', effect: 'allow', description: '\u001b[31mred' },
      { id: 'r', effect: 'deny', when: { claims: { groups: 'ops\u0000' } } },
      { id: 'r', effect: 'deny', when: { scopes: ['mcp:\u0007write'] } },
    ]) {
      const parsed = policyRuleSchema.safeParse(rule);
      expect(parsed.success).toBe(false);
      expect(JSON.stringify(parsed.error?.issues)).toContain('control characters are not allowed');
    }
  });

  it('keeps tabs and line breaks in a description', () => {
    expect(policyRuleSchema.safeParse({ id: 'r', effect: 'allow', description: 'line one\n\tline two' }).success).toBe(
      true,
    );
  });
});
