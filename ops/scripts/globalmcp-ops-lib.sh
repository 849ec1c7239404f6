#!/usr/bin/env bash
# Shared helpers of the globalmcp operations scripts; sourced, not run. Install it next to them
# (e.g. all of ops/scripts/*.sh into /usr/local/bin).
#
# Database settings, in this order of precedence:
#   DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD (or PGPASSWORD / ~/.pgpass)
#   DATABASE_URL (postgres://user:pass@host:port/db) or SPRING_DATASOURCE_URL (jdbc:postgresql://host:port/db)
#     with SPRING_DATASOURCE_USERNAME / SPRING_DATASOURCE_PASSWORD
#   defaults: localhost, 5432, globalmcp, globalmcp
# Service control: SYSTEMCTL (default "systemctl"; e.g. "sudo systemctl"), SERVICE_NAME (default globalmcp).
set -euo pipefail

gm_log() { printf '%s %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*"; }
gm_warn() { printf '%s WARNING: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >&2; }
gm_die() {
  printf '%s ERROR: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >&2
  exit 1
}

# %XX escapes of a URL component.
gm_urldecode() {
  local s="${1//+/ }"
  printf '%b' "${s//%/\\x}"
}

# Sets DB_HOST DB_PORT DB_NAME DB_USER and exports PGPASSWORD from the variables described above.
gm_db_settings() {
  local url="${DATABASE_URL:-${SPRING_DATASOURCE_URL:-}}" host="" port="" name="" user="" pass=""
  if [ -n "$url" ]; then
    url="${url#jdbc:}"
    url="${url%%\?*}"
    local rest="${url#*://}"
    local authority="${rest%%/*}"
    [ "$authority" != "$rest" ] && name="${rest#*/}"
    if [[ "$authority" == *@* ]]; then
      local credentials="${authority%@*}"
      authority="${authority##*@}"
      user="$(gm_urldecode "${credentials%%:*}")"
      [[ "$credentials" == *:* ]] && pass="$(gm_urldecode "${credentials#*:}")"
    fi
    host="${authority%%:*}"
    [[ "$authority" == *:* ]] && port="${authority##*:}"
  fi
  DB_HOST="${DB_HOST:-${host:-localhost}}"
  DB_PORT="${DB_PORT:-${port:-5432}}"
  DB_NAME="${DB_NAME:-${name:-globalmcp}}"
  DB_USER="${DB_USER:-${user:-${SPRING_DATASOURCE_USERNAME:-globalmcp}}}"
  local password="${DB_PASSWORD:-${pass:-${SPRING_DATASOURCE_PASSWORD:-}}}"
  if [ -n "$password" ] && [ -z "${PGPASSWORD:-}" ]; then export PGPASSWORD="$password"; fi
  export DB_HOST DB_PORT DB_NAME DB_USER
}

# The service manager command as an array: SYSTEMCTL may hold several words ("sudo systemctl").
gm_systemctl() {
  local -a cmd
  read -r -a cmd <<<"${SYSTEMCTL:-systemctl}"
  "${cmd[@]}" "$@"
}

# gm_wait_http URL TRIES INTERVAL: succeeds once URL answers 2xx.
gm_wait_http() {
  local url="$1" tries="${2:-30}" interval="${3:-10}" i
  for ((i = 1; i <= tries; i++)); do
    if curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null; then return 0; fi
    gm_log "Waiting for $url ... ($i/$tries)"
    sleep "$interval"
  done
  return 1
}

# Directory of the calling script (through symlinks), where its sibling scripts live.
gm_script_dir() { cd "$(dirname "$(readlink -f "${BASH_SOURCE[1]}")")" && pwd; }
