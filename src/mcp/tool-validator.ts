import { createHash } from 'node:crypto';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { EngineError, type ParameterError } from './engine-error';
import type { EngineLogger } from './engine-logger';
import { silentLogger } from './engine-logger';

const DRAFT_2020 = /json-schema\.org\/draft\/2020-12\/schema/;
const DRAFT_07 = /json-schema\.org\/draft-07\/schema/;
/** A validator that accepts everything: used when an upstream schema does not compile (the upstream still validates). */
const ACCEPT_ALL = Object.assign(() => true, { errors: null }) as unknown as ValidateFunction;

/**
 * Validates tool arguments against the tool's `inputSchema` before any upstream call. Draft-07 by default, 2020-12
 * when `$schema` says so; formats from ajv-formats. Each schema is compiled once per tool version: the cache key is
 * server id + tool name + hash of the schema, and a WeakMap on the catalog's Tool object skips even the hashing on the
 * hot path.
 */
export class ToolValidator {
  private readonly ajv07: Ajv;
  private readonly ajv2020: Ajv2020;
  private readonly byTool = new WeakMap<Tool, ValidateFunction>();
  private readonly byKey = new Map<string, ValidateFunction>();

  constructor(private readonly logger: EngineLogger = silentLogger) {
    // Upstream schemas are not ours to fix, so ajv's strict mode is off; but `strict: false` also lets Infinity and
    // NaN pass as numbers (JSON's 1e400 parses to Infinity and would reach the upstream as null): numbers stay strict.
    const options = {
      allErrors: true,
      strict: false,
      strictNumbers: true,
      addUsedSchema: false,
      validateFormats: true,
    } as const;
    this.ajv07 = new Ajv(options);
    this.ajv2020 = new Ajv2020(options);
    addFormats(this.ajv07);
    addFormats(this.ajv2020);
  }

  /** Throws INVALID_PARAMETERS naming the fields. */
  validate(serverId: string, tool: Tool, args: unknown): void {
    const validate = this.compiled(serverId, tool);
    if (validate(args ?? {})) return;
    throw EngineError.invalidParameters(tool.name, (validate.errors ?? []).map(toParameterError));
  }

  /** Number of compiled validators kept (for tests and metrics). */
  get size(): number {
    return this.byKey.size;
  }

  /** Drops the validators of a server (on remove). */
  forgetServer(serverId: string): void {
    const prefix = `${serverId}\u0000`;
    for (const key of this.byKey.keys()) if (key.startsWith(prefix)) this.byKey.delete(key);
  }

  private compiled(serverId: string, tool: Tool): ValidateFunction {
    const hit = this.byTool.get(tool);
    if (hit) return hit;
    const schema = tool.inputSchema as Record<string, unknown>;
    const json = JSON.stringify(schema);
    const key = `${serverId}\u0000${tool.name}\u0000${createHash('sha1').update(json).digest('base64url')}`;
    let validate = this.byKey.get(key);
    if (!validate) {
      validate = this.compile(serverId, tool.name, schema);
      this.byKey.set(key, validate);
    }
    this.byTool.set(tool, validate);
    return validate;
  }

  private compile(serverId: string, toolName: string, schema: Record<string, unknown>): ValidateFunction {
    const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
    try {
      if (DRAFT_2020.test(declared)) return this.ajv2020.compile(schema);
      // Unknown meta-schemas (draft-04, 2019-09 without vocabularies) are validated as draft-07 rather than refused.
      const { $schema: _ignored, ...rest } = schema;
      return this.ajv07.compile(DRAFT_07.test(declared) ? schema : rest);
    } catch (e) {
      this.logger.warn(
        `[${serverId}] inputSchema of '${toolName}' does not compile; arguments go unchecked: ${String(e)}`,
        'ToolValidator',
      );
      return ACCEPT_ALL;
    }
  }
}

function toParameterError(e: ErrorObject): ParameterError {
  const params = e.params as { missingProperty?: string; additionalProperty?: string; propertyName?: string };
  const extra = params.missingProperty ?? params.additionalProperty;
  const path = extra !== undefined ? `${e.instancePath}/${extra}` : e.instancePath;
  return { path, message: e.message ?? e.keyword };
}
