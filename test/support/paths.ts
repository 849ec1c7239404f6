import { existsSync } from 'node:fs';
import path from 'node:path';

/** Where the tests find the repository, the built gateway and the MCP servers they run. */
export const REPO = path.resolve(__dirname, '..', '..');
export const MAIN = path.join(REPO, 'dist', 'src', 'main.js');
export const EVERYTHING = path.join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const RECORDER = path.join(REPO, 'test/fixtures/servers/cancel-recorder-server.js');
export const TOOLBOX = path.join(REPO, 'test', 'fixtures', 'servers', 'toolbox.js');

/** Tests of the built gateway (`node dist/src/main.js`) need `npm run build` first; `npm test` does it. */
export function requireBuild(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
}
