import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { AppException } from 'src/common/errors/app.exception';
import { ErrorCode } from 'src/common/errors/error-code';
import { compileToolPattern } from 'src/policy/tool-pattern';
import {
  CLASH,
  isExactName,
  type VirtualPromptConfig,
  type VirtualResourceConfig,
  type VirtualToolConfig,
} from 'src/config/virtual-server.schema';

/**
 * What a virtual server is made of, and the pure rules of its composition (ADR 0009): which upstream tools and
 * prompts it exposes under which names, what a call to an exposed name becomes, and the problems a definition has
 * against the registry and the live catalog. No state, no Nest: VirtualServersService and the MCP front door's
 * VirtualCatalogView feed it the engine's catalog.
 */
export interface VirtualServer {
  id: string;
  name?: string;
  description?: string;
  source: 'config' | 'api';
  tools: VirtualToolConfig[];
  prompts: VirtualPromptConfig[];
  resources: VirtualResourceConfig[];
}

/** The engine's catalog as the composition reads it; `known` is false while a server's catalog is not (down). */
export interface CatalogReader {
  tools(serverId: string): Tool[];
  prompts(serverId: string): Prompt[];
  resources(serverId: string): Resource[];
  templates(serverId: string): ResourceTemplate[];
  known(serverId: string): boolean;
}

/** One upstream tool as the virtual server shows it. */
export interface ExposedTool {
  /** The upstream server and the tool's own name there. */
  serverId: string;
  toolName: string;
  /** The tool as listed: its exposed name and description, the fixed arguments out of its input schema. */
  tool: Tool;
  fixed: Readonly<Record<string, unknown>>;
}

export interface ExposedPrompt {
  serverId: string;
  promptName: string;
  prompt: Prompt;
}

/** A tools/call of an exposed name, as it goes to the call pipeline. */
export interface VirtualCall {
  serverId: string;
  toolName: string;
  arguments: Record<string, unknown>;
}

/**
 * The tools a virtual server exposes now: members in definition order, each member's matching upstream tools in the
 * catalog's order. A member whose server is down (no catalog) exposes nothing; the others are unaffected. Should a
 * pattern come to match a name an earlier member already exposes (the upstream added a tool after the definition was
 * checked), the earlier member keeps it.
 */
export function exposedTools(def: VirtualServer, catalog: CatalogReader): ExposedTool[] {
  const out: ExposedTool[] = [];
  const taken = new Set<string>();
  for (const member of def.tools) {
    for (const tool of matching(catalog.tools(member.server), member.tool)) {
      const name = member.name ?? tool.name;
      if (taken.has(name)) continue;
      taken.add(name);
      const fixed = member.fixed_arguments ?? {};
      out.push({
        serverId: member.server,
        toolName: tool.name,
        fixed,
        tool: {
          ...tool,
          name,
          ...(member.description !== undefined ? { description: member.description } : {}),
          inputSchema: withoutArguments(tool.inputSchema, Object.keys(fixed)),
        },
      });
    }
  }
  return out;
}

export function exposedPrompts(def: VirtualServer, catalog: CatalogReader): ExposedPrompt[] {
  const out: ExposedPrompt[] = [];
  const taken = new Set<string>();
  for (const member of def.prompts) {
    for (const prompt of matching(catalog.prompts(member.server), member.prompt)) {
      const name = member.name ?? prompt.name;
      if (taken.has(name)) continue;
      taken.add(name);
      const description = member.description ?? prompt.description;
      out.push({
        serverId: member.server,
        promptName: prompt.name,
        prompt: { ...prompt, name, ...(description !== undefined ? { description } : {}) },
      });
    }
  }
  return out;
}

/** Resources of the members (URIs as they are), the first member listing a URI serving it. */
export function exposedResources(
  def: VirtualServer,
  catalog: CatalogReader,
): { serverId: string; resource: Resource }[] {
  const seen = new Set<string>();
  const out: { serverId: string; resource: Resource }[] = [];
  for (const member of def.resources) {
    for (const resource of catalog.resources(member.server)) {
      if (member.uri !== undefined && resource.uri !== member.uri) continue;
      if (seen.has(resource.uri)) continue;
      seen.add(resource.uri);
      out.push({ serverId: member.server, resource });
    }
  }
  return out;
}

export function exposedTemplates(
  def: VirtualServer,
  catalog: CatalogReader,
): { serverId: string; template: ResourceTemplate }[] {
  const seen = new Set<string>();
  const out: { serverId: string; template: ResourceTemplate }[] = [];
  for (const member of def.resources) {
    for (const template of catalog.templates(member.server)) {
      if (member.uri !== undefined && template.uriTemplate !== member.uri) continue;
      if (seen.has(template.uriTemplate)) continue;
      seen.add(template.uriTemplate);
      out.push({ serverId: member.server, template });
    }
  }
  return out;
}

/**
 * What a call of `name` with the caller's `args` becomes: the upstream server and tool, the caller's arguments with the
 * fixed ones merged in. A caller that sends a fixed (hidden) argument gets a 400 naming it: the virtual server decides
 * that value. A name of an exact member whose server is down is a 503 naming that server (not a 404: the member is
 * defined, only unavailable); policy is the pipeline's (403 naming the rule).
 */
export function resolveCall(
  def: VirtualServer,
  name: string,
  args: Record<string, unknown>,
  catalog: CatalogReader,
): VirtualCall {
  const target = exposedTools(def, catalog).find((t) => t.tool.name === name);
  if (!target) {
    const down = def.tools.find((m) => isExactName(m.tool) && (m.name ?? m.tool) === name && !catalog.known(m.server));
    if (down) {
      throw new AppException(
        ErrorCode.SERVER_UNAVAILABLE,
        `Tool '${name}' of virtual server '${def.id}' is unavailable: server '${down.server}' is not connected`,
        { virtual_server: def.id, tool: name, server_id: down.server },
      );
    }
    throw AppException.notFound(`Tool '${name}' of virtual server '${def.id}'`, { virtual_server: def.id, tool: name });
  }
  const hidden = Object.keys(target.fixed).filter((key) => Object.hasOwn(args, key));
  if (hidden.length > 0) {
    throw AppException.invalid(
      `Argument${hidden.length > 1 ? 's' : ''} ${hidden.map((k) => `'${k}'`).join(', ')} of '${name}' ` +
        `${hidden.length > 1 ? 'are' : 'is'} fixed by virtual server '${def.id}' and cannot be sent`,
      { fields: hidden.map((field) => ({ field, problems: ['fixed by the virtual server'] })) },
    );
  }
  return { serverId: target.serverId, toolName: target.toolName, arguments: { ...args, ...target.fixed } };
}

/** The upstream prompt behind an exposed prompt name; 404 when none. */
export function resolvePrompt(def: VirtualServer, name: string, catalog: CatalogReader): ExposedPrompt {
  const exposed = exposedPrompts(def, catalog).find((p) => p.prompt.name === name);
  if (!exposed) {
    throw AppException.notFound(`Prompt '${name}' of virtual server '${def.id}'`, {
      virtual_server: def.id,
      prompt: name,
    });
  }
  return exposed;
}

/** A problem of a definition, refused at definition time: 400 (`invalid`) or 409 (`conflict`, a name clash). */
export interface DefinitionProblem {
  kind: 'invalid' | 'conflict';
  field: string;
  problem: string;
}

/**
 * What is wrong with a definition against the registry (`servers`: every real server id) and the catalogs known now:
 * its id is a real server's; a member names an unknown server; an exact tool or prompt its (connected) server does
 * not offer, or a pattern matching none of its tools; two members exposed under one name once the patterns are
 * expanded. A member whose server is down is taken on trust (checked again by its own listing when it is back).
 */
export function definitionProblems(
  def: VirtualServer,
  servers: ReadonlySet<string>,
  catalog: CatalogReader,
): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  if (servers.has(def.id)) {
    problems.push({
      kind: 'conflict',
      field: 'id',
      problem: `'${def.id}' is the id of a real server: a virtual server needs an id of its own`,
    });
  }
  const check = (kind: 'tools' | 'prompts' | 'resources', index: number, server: string) => {
    if (servers.has(server)) return true;
    problems.push({ kind: 'invalid', field: `${kind}[${index}].server`, problem: `unknown server '${server}'` });
    return false;
  };
  const members = (kind: 'tools' | 'prompts', list: { server: string; pattern: string; name?: string }[]) => {
    const exposedBy = new Map<string, number>();
    list.forEach((m, index) => {
      if (!check(kind, index, m.server) || !catalog.known(m.server)) {
        if (isExactName(m.pattern)) claim(exposedBy, m.name ?? m.pattern, index);
        return;
      }
      const names = (kind === 'tools' ? catalog.tools(m.server) : catalog.prompts(m.server)).map((t) => t.name);
      const hits = names.filter((n) => compileToolPattern(m.pattern).test(n));
      if (hits.length === 0) {
        const what = kind === 'tools' ? 'tool' : 'prompt';
        problems.push({
          kind: 'invalid',
          field: `${kind}[${index}].${what}`,
          problem: isExactName(m.pattern)
            ? `server '${m.server}' has no ${what} '${m.pattern}'`
            : `'${m.pattern}' matches no ${what} of server '${m.server}'`,
        });
      }
      for (const hit of hits) claim(exposedBy, m.name ?? hit, index);
    });
    function claim(taken: Map<string, number>, name: string, index: number) {
      const first = taken.get(name);
      if (first === undefined) return void taken.set(name, index);
      if (first === index) return;
      problems.push({
        kind: 'conflict',
        field: `${kind}[${index}]`,
        problem: `'${name}' is already exposed by ${kind}[${first}]: ${CLASH}`,
      });
    }
  };
  members(
    'tools',
    def.tools.map((t) => ({ server: t.server, pattern: t.tool, name: t.name })),
  );
  members(
    'prompts',
    def.prompts.map((p) => ({ server: p.server, pattern: p.prompt, name: p.name })),
  );
  def.resources.forEach((r, index) => check('resources', index, r.server));
  return problems;
}

/** The upstream items a member's name or pattern covers. */
function matching<T extends { name: string }>(items: T[], pattern: string): T[] {
  if (isExactName(pattern)) return items.filter((item) => item.name === pattern);
  const regex = compileToolPattern(pattern);
  return items.filter((item) => regex.test(item.name));
}

/** The input schema without the fixed arguments: neither a property nor required, so no client sends them. */
export function withoutArguments(schema: Tool['inputSchema'], hidden: readonly string[]): Tool['inputSchema'] {
  if (hidden.length === 0) return schema;
  const properties = { ...(schema.properties ?? {}) };
  for (const key of hidden) delete properties[key];
  const required = schema.required?.filter((key) => !hidden.includes(key));
  return { ...schema, properties, ...(required ? { required } : {}) };
}
