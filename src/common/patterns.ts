/**
 * Identifier shapes more than one module checks (configuration, REST DTOs, API keys, the MCP front door, the
 * OpenAPI document): written once here so they cannot drift apart.
 */

/** A server id: 1-64 letters, digits, `_`, `.` or `-`, starting with a letter or digit (it appears in URLs). */
export const SERVER_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/** A tool name the REST routes can address: 1-128 letters, digits, `_`, `-`, `.` or `/`. */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.\-/]{1,128}$/;
