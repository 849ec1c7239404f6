import { z } from 'zod';
import { SERVER_ID_PATTERN, TOOL_NAME_PATTERN } from 'src/common/patterns';
import { text, TOOL_PATTERN } from './policy-rule.schema';

/**
 * A virtual server: tools, prompts and resources of several upstreams under names and descriptions of its own, as
 * `mcp.virtual-servers.<id>` writes it and as `POST /api/virtual-servers` takes it (one schema, so a definition means
 * the same thing wherever it is written). Member keys are snake_case in both places: list items are not relaxed-bound
 * by the loader. The rules that need the registry (a member's server exists, an id is not a real server's) are checked
 * where the registry is known: config.schema.ts for the file, src/virtual-servers for the API. Composition and calls
 * live in src/virtual-servers (ADR 0009).
 */

const serverId = z.string().regex(SERVER_ID_PATTERN, 'server is a server id: 1-64 letters, digits, `_`, `.` or `-`');
const exposedName = z.string().regex(TOOL_NAME_PATTERN, 'name is 1-128 letters, digits, `_`, `-`, `.` or `/`');
const namePattern = (what: 'tool' | 'prompt') =>
  z
    .string()
    .regex(
      TOOL_PATTERN,
      `${what} is a name, or a pattern of 1-128 letters, digits, \`_\`, \`-\`, \`.\`, \`/\` with \`*\` and \`?\``,
    );

/** The words of every "two members under one name" problem (the API answers those 409, other problems 400). */
export const CLASH = 'two members under one name';

/** Whether a member names one upstream tool or prompt (no `*` or `?`): only those may be renamed or given fixed values. */
export const isExactName = (pattern: string): boolean => !/[*?]/.test(pattern);

export const virtualToolSchema = z.strictObject({
  server: serverId,
  tool: namePattern('tool'),
  name: exposedName.optional(),
  description: text(4000).optional(),
  /** Arguments the virtual server always sends; they are taken out of the tool's input schema. */
  fixed_arguments: z
    .record(z.string().min(1).max(128), z.unknown())
    .refine((args) => Object.keys(args).length <= 100, 'at most 100 fixed arguments')
    .optional(),
});

export const virtualPromptSchema = z.strictObject({
  server: serverId,
  prompt: namePattern('prompt'),
  name: exposedName.optional(),
  description: text(4000).optional(),
});

/** Resources keep their URIs: a member is a server's resources and templates, or one URI (or URI template) of it. */
export const virtualResourceSchema = z.strictObject({
  server: serverId,
  uri: text(2048).optional(),
});

const shape = {
  name: text(200).optional(),
  description: text(4000).optional(),
  tools: z.array(virtualToolSchema).max(500).default([]),
  prompts: z.array(virtualPromptSchema).max(500).default([]),
  resources: z.array(virtualResourceSchema).max(100).default([]),
};

/** Rules of one definition on its own: renames only of exact names, and no two exact members under one name. */
function checkMembers(def: { tools: VirtualToolConfig[]; prompts: VirtualPromptConfig[] }, ctx: z.RefinementCtx): void {
  const exposed = (kind: 'tools' | 'prompts', items: { name?: string; pattern: string }[]) => {
    const seen = new Map<string, number>();
    items.forEach((item, index) => {
      const exact = isExactName(item.pattern);
      if (!exact && item.name !== undefined) {
        ctx.addIssue({ code: 'custom', path: [kind, index, 'name'], message: 'a pattern member cannot be renamed' });
      }
      if (!exact) return;
      const name = item.name ?? item.pattern;
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [kind, index],
          message: `'${name}' is already exposed by ${kind}[${first}]: ${CLASH}`,
        });
      } else seen.set(name, index);
    });
  };
  exposed(
    'tools',
    def.tools.map((t) => ({ name: t.name, pattern: t.tool })),
  );
  exposed(
    'prompts',
    def.prompts.map((p) => ({ name: p.name, pattern: p.prompt })),
  );
  def.tools.forEach((t, index) => {
    if (!isExactName(t.tool) && t.description !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tools', index, 'description'],
        message: 'a pattern member keeps the upstream descriptions',
      });
    }
    if (!isExactName(t.tool) && t.fixed_arguments !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['tools', index, 'fixed_arguments'],
        message: 'fixed arguments need one named tool, not a pattern',
      });
    }
  });
  def.prompts.forEach((p, index) => {
    if (!isExactName(p.prompt) && p.description !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['prompts', index, 'description'],
        message: 'a pattern member keeps the upstream descriptions',
      });
    }
  });
}

/** `mcp.virtual-servers.<id>`: the id is the map key. */
export const virtualServerSchema = z.strictObject(shape).superRefine(checkMembers);

/** A virtual server id: a server id (it appears in `/mcp/{id}` and REST paths). */
export const virtualServerIdSchema = z
  .string()
  .regex(
    SERVER_ID_PATTERN,
    'a virtual server id is 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit',
  );

/** The API's body: the same definition with its id. */
export const virtualServerBodySchema = z
  .strictObject({ id: virtualServerIdSchema, ...shape })
  .superRefine(checkMembers);

export type VirtualToolConfig = z.output<typeof virtualToolSchema>;
export type VirtualPromptConfig = z.output<typeof virtualPromptSchema>;
export type VirtualResourceConfig = z.output<typeof virtualResourceSchema>;
export type VirtualServerConfig = z.output<typeof virtualServerSchema>;
export type VirtualServerBody = z.output<typeof virtualServerBodySchema>;
