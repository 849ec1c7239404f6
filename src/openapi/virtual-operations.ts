import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';
import { TOOL_NAME_PATTERN } from 'src/common/patterns';
import type { ExposedTool, VirtualServer } from 'src/virtual-servers/virtual-composition';
import { VIRTUAL_TOOL_PATH } from 'src/virtual-servers/virtual-servers.controller';
import { mapToolSchema, shortHash } from './json-schema-to-openapi';
import { exampleOf } from './schema-example';
import { operationFor, type ToolOperations, X_TOOL } from './tool-operations';

/** Carried by each virtual tool operation, so the document can be cut to the caller's allow-list. */
export const X_VIRTUAL_SERVER = 'x-mcp-virtual-server';

/** The tag of a virtual server's tool operations. */
export const virtualTag = (id: string) => `Virtual server: ${id}`;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `virtual_<id>__<name>`, made an identifier as `toolOperationId` does (a hash when the cleaning loses anything). */
export function virtualOperationId(id: string, name: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
  const plain = `virtual_${id.replace(/[-.]/g, '_')}__${name}`;
  const out = `virtual_${clean(id)}__${clean(name)}`;
  return out === plain && IDENTIFIER.test(out) ? out : `${out}_${shortHash(`${id}\u0000${name}`)}`;
}

/**
 * One typed operation per exposed tool of each virtual server (ADR 0009): `POST /api/virtual-servers/<id>/tools/<name>`
 * under the tag `Virtual server: <id>`, built like the per-server operations (tool-operations.ts) from the exposed tool
 * (its name, description, and input schema without the fixed arguments). `x-mcp-server`/`x-mcp-tool` name the REAL
 * server and tool, so the per-caller cut applies the same allow-list and tool-level policy as to the tool itself.
 */
export function buildVirtualOperations(
  servers: readonly { def: VirtualServer; tools: readonly ExposedTool[] }[],
  document: OpenAPIObject,
): ToolOperations {
  const template = document.paths[VIRTUAL_TOOL_PATH]?.post;
  const out: ToolOperations = { paths: {}, schemas: {}, tags: [] };
  if (!template) return out;
  for (const { def, tools } of servers) {
    let any = false;
    for (const exposed of tools) {
      const name = exposed.tool.name;
      if (!TOOL_NAME_PATTERN.test(name)) continue;
      any = true;
      const operationId = virtualOperationId(def.id, name);
      const input = mapToolSchema(exposed.tool.inputSchema, `${operationId}.input`);
      Object.assign(out.schemas, input.components);
      let structured: { $ref: string } | undefined;
      if (exposed.tool.outputSchema) {
        const output = mapToolSchema(exposed.tool.outputSchema, `${operationId}.output`);
        Object.assign(out.schemas, output.components);
        structured = output.ref;
      }
      const example = exampleOf(input.ref, input.components) ?? {};
      const base = operationFor(
        { serverId: exposed.serverId, serverName: exposed.serverId, tool: exposed.tool },
        operationId,
        template,
        input,
        structured,
        example,
      );
      const description = [
        exposed.tool.description ?? '',
        `Tool \`${name}\` of virtual server \`${def.id}\` (MCP tool \`${exposed.toolName}\` of server ` +
          `\`${exposed.serverId}\`). The body is the tool's arguments themselves (no wrapper).`,
      ]
        .filter(Boolean)
        .join('\n\n');
      out.paths[`/api/virtual-servers/${encodeURIComponent(def.id)}/tools/${encodeURIComponent(name)}`] = {
        post: {
          ...base,
          description,
          tags: [virtualTag(def.id)],
          [X_TOOL]: exposed.toolName,
          [X_VIRTUAL_SERVER]: def.id,
        } as OperationObject,
      };
    }
    if (any) {
      out.tags.push({
        name: virtualTag(def.id),
        description: `Tools of virtual server \`${def.id}\`${def.name ? ` (${def.name})` : ''}${def.description ? `: ${def.description}` : ''}`,
      });
    }
  }
  return out;
}
