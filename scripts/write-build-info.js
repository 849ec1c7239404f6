// Stamps dist/build-info.json with the commit and build time, shown by /actuator/info.
const { execSync } = require('node:child_process');
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

let commit = process.env.GIT_COMMIT ?? null;
if (!commit) {
  try {
    commit = execSync('git rev-parse --short=12 HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    commit = null;
  }
}
const out = path.join(__dirname, '..', 'dist', 'build-info.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ commit, buildTime: new Date().toISOString() }, null, 2));
