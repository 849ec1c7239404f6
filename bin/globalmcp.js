#!/usr/bin/env node
// The `globalmcp` command (package.json "bin"): the compiled CLI in dist/, built first when a checkout has none yet.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(cli)) {
  if (!existsSync(path.join(root, 'src', 'cli', 'main.ts'))) {
    process.stderr.write(`globalmcp: ${cli} is missing and there are no sources to build it from\n`);
    process.exit(5);
  }
  process.stderr.write('globalmcp: building (first run)...\n');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(5);
}
require(cli)
  .run(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
