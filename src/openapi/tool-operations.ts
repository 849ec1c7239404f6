import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { OpenAPIObject, OperationObject, PathItemObject, TagObject } from '@nestjs/swagger';
import { type JsonSchema, type MappedSchema, mapToolSchema, shortHash } from './json-schema-to-openapi';
import { exampleOf } from './schema-example';
import { TOOL_NAME_PATTERN } from 'src/common/patterns';

/** The route every per-tool operation is an instance of (ToolsController.executeServerTool). */
export const SERVER_TOOL_PATH = '/api/servers/{id}/tools/{tool}';

export interface CatalogTool {
  serverId: string;
  /** Display name of the server (its `name`, else its id). */
  serverName: string;
  tool: Tool;
}

/** What the live catalog adds to the static document. */
export interface ToolOperations {
  paths: Record<string, PathItemObject>;
  schemas: Record<string, JsonSchema>;
  tags: TagObject[];
}

const SSE_EXAMPLE =
  'id: 1\nevent: status\ndata: {"status":"running",...}\n\n' +
  'id: 2\nevent: progress\ndata: {"progress":1,"total":3}\n\n' +
  'id: 5\nevent: result\ndata: {"status":"completed","result":{...}}\n\n';

/** Extensions carried by every per-tool operation, so the document can be filtered per caller. */
export const X_SERVER = 'x-mcp-server';
export const X_TOOL = 'x-mcp-tool';
export const X_ANNOTATIONS = 'x-mcp-annotations';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A stable operationId that code generators accept as an identifier: `call_<server>__<tool>` with every other
 * character replaced by `_`; when that replacement loses information, 8 hex digits of a hash of the exact names
 * keep it unique. Same server and tool, same id, on every gateway and every start.
 */
export function toolOperationId(serverId: string, toolName: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_');
  const plain = `call_${serverId.replace(/[-.]/g, '_')}__${toolName}`;
  const id = `call_${clean(serverId)}__${clean(toolName)}`;
  return id === plain && IDENTIFIER.test(id) ? id : `${id}_${shortHash(`${serverId}\u0000${toolName}`)}`;
}

/** The tag of a server's tool operations. */
export const serverTag = (serverId: string) => `Tools: ${serverId}`;

/** The concrete path of one tool (names percent-encoded: a tool name may hold `/`). */
export const toolPath = (serverId: string, toolName: string) =>
  `/api/servers/${encodeURIComponent(serverId)}/tools/${encodeURIComponent(toolName)}`;

/**
 * One operation per tool: `POST /api/servers/<server>/tools/<tool>` as a concrete path (the generic templated route
 * stays in the document too). The body schema is the tool's `inputSchema` itself (the body is the arguments); the
 * call's options are the route's header and query parameters (`Prefer`, `Idempotency-Key`, `timeout`, `mode`); the
 * 200 answer types `result.structured_content` by its `outputSchema`. Security, parameters, error answers and the
 * 202 of an async call are those of the generic route (`template`).
 */
export function buildToolOperations(tools: readonly CatalogTool[], document: OpenAPIObject): ToolOperations {
  const template = document.paths[SERVER_TOOL_PATH]?.post;
  const out: ToolOperations = { paths: {}, schemas: {}, tags: [] };
  if (!template) return out;
  const servers = new Map<string, string>();
  for (const { serverId, serverName, tool } of tools) {
    // A name outside the REST routes' rule (over 128 characters, spaces, ...) cannot be called there (400): no
    // operation promises it. The MCP front door still offers such tools.
    if (!TOOL_NAME_PATTERN.test(tool.name)) continue;
    servers.set(serverId, serverName);
    const operationId = toolOperationId(serverId, tool.name);
    const input = mapToolSchema(tool.inputSchema, `${operationId}.input`);
    Object.assign(out.schemas, input.components);
    let structured: { $ref: string } | undefined;
    if (tool.outputSchema) {
      const output = mapToolSchema(tool.outputSchema, `${operationId}.output`);
      Object.assign(out.schemas, output.components);
      structured = output.ref;
    }
    // The "Try it out" body: the required arguments (and those with a default or an example), not Swagger UI's own
    // sample, which fills in every optional property.
    const example = exampleOf(input.ref, input.components) ?? {};
    out.paths[toolPath(serverId, tool.name)] = {
      post: operationFor({ serverId, serverName, tool }, operationId, template, input, structured, example),
    };
  }
  out.tags = [...servers.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, name]) => ({
      name: serverTag(id),
      description: `Tools of MCP server \`${id}\`${name !== id ? ` (${name})` : ''}, one typed operation each`,
    }));
  return out;
}

export function operationFor(
  { serverId, tool }: CatalogTool,
  operationId: string,
  template: OperationObject,
  input: MappedSchema,
  structured: { $ref: string } | undefined,
  example: unknown,
): OperationObject {
  const annotations = tool.annotations ?? {};
  const hints = [
    annotations.readOnlyHint === true ? 'read-only' : undefined,
    annotations.destructiveHint === true
      ? 'destructive'
      : annotations.destructiveHint === false
        ? 'not destructive'
        : undefined,
    annotations.idempotentHint === true ? 'idempotent' : undefined,
    annotations.openWorldHint === true ? 'open world' : undefined,
  ].filter((h): h is string => h !== undefined);
  const title = tool.title ?? annotations.title;
  const description = [
    tool.description ?? '',
    hints.length ? `**Hints:** ${hints.join(', ')}.` : '',
    `MCP tool \`${tool.name}\` of server \`${serverId}\`. The body is the tool's arguments themselves (no ` +
      'wrapper); `timeout` and `mode` are query parameters, the idempotency key the `Idempotency-Key` header. Same ' +
      'behaviour as `POST /api/servers/{id}/tools/{tool}`.',
  ]
    .filter(Boolean)
    .join('\n\n');

  const optionParameters = ((template.parameters ?? []) as { in?: string }[])
    .filter((parameter) => parameter.in !== 'path')
    .map((parameter) => structuredClone(parameter));
  // Without required arguments the body may be left out (it is then `{}`): generated clients make it optional.
  const bodyRequired = requiresArguments(input.ref, input.components);
  const responses = structuredClone(template.responses);
  const ok = responses['200'] as { content?: Record<string, { schema?: unknown; example?: unknown }> } | undefined;
  const okSchema = ok?.content?.['application/json']?.schema;
  if (ok?.content) {
    ok.content['text/event-stream'] = {
      schema: { type: 'string', description: 'With `Accept: text/event-stream`: status, progress, log, then result' },
      example: SSE_EXAMPLE,
    };
  }
  if (ok && okSchema && structured) {
    ok.content!['application/json'] = {
      schema: {
        allOf: [
          okSchema,
          {
            type: 'object',
            properties: { result: { type: 'object', properties: { structured_content: structured } } },
          },
        ],
      },
    };
  }
  return {
    operationId,
    summary: title ? `${title} (${tool.name})` : tool.name,
    description,
    tags: [serverTag(serverId)],
    ...(template.security ? { security: structuredClone(template.security) } : {}),
    // The route's header and query parameters (Prefer, Idempotency-Key, timeout, mode); its path parameters are
    // fixed in the concrete path.
    ...(optionParameters.length ? { parameters: optionParameters } : {}),
    requestBody: {
      required: bodyRequired,
      description: "The tool's arguments",
      content: { 'application/json': { schema: input.ref, example } },
    },
    responses,
    [X_SERVER]: serverId,
    [X_TOOL]: tool.name,
    ...(tool.annotations ? { [X_ANNOTATIONS]: { ...tool.annotations } } : {}),
  } as OperationObject;
}

/**
 * Whether `{}` misses a required argument: `required` at the root, or reached through a `$ref` to a component, any
 * part of an `allOf`, or every variant of an `anyOf`/`oneOf` (bounded depth, for recursive schemas).
 */
function requiresArguments(schema: unknown, components: Record<string, JsonSchema>, depth = 0): boolean {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || depth > 8) return false;
  const node = schema as JsonSchema;
  if (Array.isArray(node.required) && node.required.length > 0) return true;
  const prefix = '#/components/schemas/';
  if (typeof node.$ref === 'string' && node.$ref.startsWith(prefix)) {
    const name = node.$ref.slice(prefix.length);
    if (Object.hasOwn(components, name) && requiresArguments(components[name], components, depth + 1)) return true;
  }
  const parts = (key: string) => (Array.isArray(node[key]) ? (node[key] as unknown[]) : []);
  if (parts('allOf').some((part) => requiresArguments(part, components, depth + 1))) return true;
  return ['anyOf', 'oneOf'].some(
    (key) => parts(key).length > 0 && parts(key).every((part) => requiresArguments(part, components, depth + 1)),
  );
}
