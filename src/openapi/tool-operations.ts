import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { OpenAPIObject, OperationObject, PathItemObject, TagObject } from '@nestjs/swagger';
import { type JsonSchema, mapToolSchema, shortHash } from './json-schema-to-openapi';
import { exampleOf } from './schema-example';

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
 * stays in the document too). The body is the route's `{parameters, timeout, idempotency_key, mode}` wrapper with
 * `parameters` typed by the tool's `inputSchema`; the 200 answer types `result.structured_content` by its
 * `outputSchema`. Security, error answers and the 202 of an async call are those of the generic route (`template`).
 */
export function buildToolOperations(tools: readonly CatalogTool[], document: OpenAPIObject): ToolOperations {
  const template = document.paths[SERVER_TOOL_PATH]?.post;
  const out: ToolOperations = { paths: {}, schemas: {}, tags: [] };
  if (!template) return out;
  const wrapper = resolveRequestSchema(template, document);
  const servers = new Map<string, string>();
  for (const { serverId, serverName, tool } of tools) {
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
    // The "Try it out" body: the arguments only (Swagger UI's own sample would also fill in an idempotency key, and
    // every later try would replay the first).
    const example = { parameters: exampleOf(input.ref, input.components) ?? {} };
    out.paths[toolPath(serverId, tool.name)] = {
      post: operationFor(
        { serverId, serverName, tool },
        operationId,
        template,
        wrapper,
        input.ref,
        structured,
        example,
      ),
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

function operationFor(
  { serverId, tool }: CatalogTool,
  operationId: string,
  template: OperationObject,
  wrapper: JsonSchema | undefined,
  input: { $ref: string },
  structured: { $ref: string } | undefined,
  example: Record<string, unknown>,
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
    `MCP tool \`${tool.name}\` of server \`${serverId}\`. The body wraps the tool's arguments in \`parameters\`; ` +
      'same behaviour as `POST /api/servers/{id}/tools/{tool}`.',
  ]
    .filter(Boolean)
    .join('\n\n');

  const headerParameters = ((template.parameters ?? []) as { in?: string }[])
    .filter((parameter) => parameter.in !== 'path')
    .map((parameter) => structuredClone(parameter));
  const wrapperProperties = (wrapper?.properties ?? {}) as Record<string, unknown>;
  const body: JsonSchema = {
    type: 'object',
    required: ['parameters'],
    additionalProperties: false,
    properties: { ...wrapperProperties, parameters: { ...input, description: "The tool's arguments" } },
  };
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
    // The route's header parameters (Prefer); its path parameters are fixed in the concrete path.
    ...(headerParameters.length ? { parameters: headerParameters } : {}),
    requestBody: { required: true, content: { 'application/json': { schema: body, example } } },
    responses,
    [X_SERVER]: serverId,
    [X_TOOL]: tool.name,
    ...(tool.annotations ? { [X_ANNOTATIONS]: { ...tool.annotations } } : {}),
  } as OperationObject;
}

/** The generic route's body schema with its `$ref` resolved (its properties are copied next to `parameters`). */
function resolveRequestSchema(template: OperationObject, document: OpenAPIObject): JsonSchema | undefined {
  const body = template.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined;
  const schema = body?.content?.['application/json']?.schema;
  if (!schema?.$ref) return schema;
  const name = schema.$ref.split('/').pop()!;
  return document.components?.schemas?.[name] as JsonSchema | undefined;
}
