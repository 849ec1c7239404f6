import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveConnection, type Connection } from './client';
import { CliError, ExitCode } from './exit-codes';
import { createOutput, type Output, type OutputFormat } from './output';

/** What an action needs: the connection (resolved on first use) and where to print. */
export interface CommandContext {
  out: Output;
  connection: () => Connection;
}

/** The context of the command being run, from its own and the program's options. */
export function contextOf(command: Command): CommandContext {
  const options = command.optsWithGlobals<{ url?: string; apiKey?: string; output: OutputFormat }>();
  let connection: Connection | undefined;
  return {
    out: createOutput(options.output),
    connection: () => (connection ??= resolveConnection({ url: options.url, apiKey: options.apiKey })),
  };
}

/** A JSON file's content (`-` reads stdin), or a usage error naming the file. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new CliError(
      ExitCode.usage,
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(ExitCode.usage, `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/** A JSON object from a file, or a usage error: tool arguments and request bodies are objects. */
export function readJsonObject(file: string): Record<string, unknown> {
  const value = readJsonFile(file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(ExitCode.usage, `${file} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Repeatable option collector (`--arg a --arg b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
