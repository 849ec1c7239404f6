import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project root (where `config/application.yml` and `package.json` live): the nearest ancestor with a
 * package.json, skipping the build output (`dist/`), so it is the same from `src/` (tests) and `dist/src/` (the
 * built service).
 */
export const APP_ROOT = findAppRoot(__dirname);

function findAppRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'dist' && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, '..', '..');
  }
}
