import { TOOL_PATTERN } from 'src/config/policy-rule.schema';

/**
 * Compiles a tool name pattern (`delete_*`, `get_?`, `*`) into an anchored RegExp: `*` is any run of characters, `?`
 * one character, everything else literal. The grammar (src/config/policy-rule.schema.ts) is deliberately small: tool
 * names have a small alphabet, and a pattern language with brackets or braces would accept typos silently. A pattern
 * outside it is refused, never compiled.
 */
export function compileToolPattern(pattern: string): RegExp {
  if (!TOOL_PATTERN.test(pattern)) throw new Error(`invalid tool pattern '${pattern}'`);
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c === '.' ? '\\.' : c))
    .join('');
  return new RegExp(`^${body}$`);
}
