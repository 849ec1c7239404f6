import { z } from 'zod';
import { SERVER_ID_PATTERN } from 'src/common/patterns';

/**
 * One tool-level policy rule, as `mcp.policy.rules` lists it and as `POST /api/policy/rules` takes it (the same
 * schema, so a rule means the same thing wherever it is written). Keys are snake_case in both places: list items are
 * not relaxed-bound by the loader. Evaluation lives in src/policy; docs/security.md ("Tool-level policy") explains it.
 */

/** A rule id: it names the rule in a 403 (`error.details.rule`), in metrics and in the audit log. */
export const POLICY_RULE_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/**
 * A tool name pattern: a tool name (letters, digits, `_`, `-`, `.`, `/`) in which `*` stands for any run of
 * characters and `?` for one character. Anything else (brackets, braces, spaces) is refused rather than guessed at.
 */
export const TOOL_PATTERN = /^[A-Za-z0-9_.\-/*?]{1,128}$/;

/** The MCP tool annotation hints a rule may test; a tool that does not set one has the specification's default. */
export const ANNOTATION_HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

/**
 * Text a person wrote (descriptions, scope and claim values, key ids): no NUL, which PostgreSQL refuses in text and
 * jsonb alike, and no other control character but tab and line breaks (terminal escapes have no place in a rule).
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
export const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'control characters are not allowed');

const nonEmptyList = (item: z.ZodType<string>) => z.array(item).min(1).max(100);

/** Conditions of a rule: every condition given must hold; a list holds when any of its values does. */
export const policyConditionsSchema = z
  .strictObject({
    scopes: nonEmptyList(text(200)).optional(),
    claims: z
      .record(text(200), z.union([text(500), nonEmptyList(text(500))]))
      .refine((claims) => Object.keys(claims).length > 0, 'name at least one claim')
      .optional(),
    api_keys: nonEmptyList(text(200)).optional(),
    tiers: nonEmptyList(text(32)).optional(),
    annotations: z
      .strictObject(Object.fromEntries(ANNOTATION_HINTS.map((hint) => [hint, z.boolean().optional()])))
      .refine((hints) => Object.keys(hints).length > 0, 'name at least one annotation')
      .optional(),
  })
  .refine((conditions) => Object.keys(conditions).length > 0, 'give at least one condition, or leave it out');

export const policyRuleSchema = z.strictObject({
  id: z.string().regex(POLICY_RULE_ID_PATTERN, 'a rule id is 1-64 letters, digits, `_`, `.` or `-`'),
  effect: z.enum(['allow', 'deny'], { error: 'effect is `allow` or `deny`' }),
  server: z
    .string()
    .refine((s) => s === '*' || SERVER_ID_PATTERN.test(s), 'server is a server id or `*`')
    .default('*'),
  tool: z
    .string()
    .regex(
      TOOL_PATTERN,
      'tool is a name pattern of 1-128 letters, digits, `_`, `-`, `.`, `/`, with `*` (any run) and `?` (one character)',
    )
    .default('*'),
  description: z
    .string()
    .max(500)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'control characters are not allowed')
    .optional(),
  when: policyConditionsSchema.optional(),
  unless: policyConditionsSchema.optional(),
});

export type PolicyRuleInput = z.input<typeof policyRuleSchema>;
export type PolicyRuleConfig = z.output<typeof policyRuleSchema>;
export type PolicyConditions = z.output<typeof policyConditionsSchema>;
