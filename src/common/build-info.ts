import { readFileSync } from 'node:fs';
import path from 'node:path';
import { APP_ROOT } from './app-root';

export interface BuildInfo {
  name: string;
  version: string;
  commit: string | null;
  buildTime: string | null;
}

/** Written by `npm run build` (scripts/write-build-info.js) so a deployed artifact knows its commit without git. */
export function readBuildInfo(): BuildInfo {
  const pkg = JSON.parse(readFileSync(path.join(APP_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  let stamped: Partial<BuildInfo> = {};
  try {
    stamped = JSON.parse(readFileSync(path.join(APP_ROOT, 'dist', 'build-info.json'), 'utf8')) as Partial<BuildInfo>;
  } catch {
    // Not built through npm (tests run from sources): commit and build time stay unknown.
  }
  return {
    name: pkg.name,
    version: pkg.version,
    commit: process.env.GIT_COMMIT ?? stamped.commit ?? null,
    buildTime: stamped.buildTime ?? null,
  };
}
