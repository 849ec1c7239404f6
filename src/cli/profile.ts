import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { CliError, ExitCode } from './exit-codes';

/** What `globalmcp login` keeps: the gateway and the key to use when neither `--url` nor `--api-key` is given. */
export interface Profile {
  url: string;
  apiKey: string;
}

/** `$GLOBALMCP_PROFILE`, else `$XDG_CONFIG_HOME/globalmcp/profile.json`, else `~/.config/globalmcp/profile.json`. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GLOBALMCP_PROFILE) return env.GLOBALMCP_PROFILE;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'globalmcp', 'profile.json');
}

/**
 * The profile, or undefined when there is none. A file that group or others may read or write is refused (as ssh
 * refuses such a key file): the key in it may already be known to others, and it must be fixed, not used.
 */
export function readProfile(file: string): Profile | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) !== 0) {
    throw new CliError(
      ExitCode.auth,
      `${file} is accessible to others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${file}, or log in again`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(ExitCode.usage, `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const { url, api_key: apiKey } = (parsed ?? {}) as { url?: unknown; api_key?: unknown };
  if (typeof url !== 'string' || typeof apiKey !== 'string') {
    throw new CliError(ExitCode.usage, `${file} needs "url" and "api_key" strings: run globalmcp login`);
  }
  return { url, apiKey };
}

/** Writes the profile with mode 0600 (its directory 0700), also when the file existed with a looser mode. */
export function writeProfile(file: string, profile: Profile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify({ url: profile.url, api_key: profile.apiKey }, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}
