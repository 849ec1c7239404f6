import { execFileSync } from 'node:child_process';
import path from 'node:path';

describe('the CLI client types', () => {
  it('are what openapi-typescript generates from the committed document (npm run build regenerates them)', () => {
    const root = path.resolve(__dirname, '..', '..');
    // Exits 1 with the reason on stderr when src/cli/api/schema.d.ts differs.
    expect(() =>
      execFileSync(process.execPath, [path.join(root, 'scripts', 'generate-cli-client.mjs'), '--check'], {
        cwd: root,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  }, 60_000);
});
