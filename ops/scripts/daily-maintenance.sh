#!/usr/bin/env bash
# daily-maintenance.sh -- disk, load and health checks plus a configuration backup (deployment guide section 10.1).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: daily-maintenance.sh [-h]

1. Disk: when a file system holding LOG_DIR or DATA_DIR is DISK_THRESHOLD% full or more, deletes logs older than
   LOG_RETENTION_DAYS days from LOG_DIR.
2. Load: warns when the 1-minute load average exceeds LOAD_THRESHOLD (default: the number of CPUs).
3. Health: restarts the service when LIVENESS_URL fails (the process is stuck), and only then: a failing
   READINESS_URL (database or a required MCP server down) is reported, not "fixed" by a restart.
4. Runs backup-config.sh.
Exits 1 when the service is still not alive after the restart.

Environment:
  LOG_DIR default /var/log/globalmcp   DATA_DIR default /var/lib/globalmcp
  DISK_THRESHOLD default 90   LOG_RETENTION_DAYS default 7   LOAD_THRESHOLD default $(nproc)
  LIVENESS_URL  default http://localhost:8081/actuator/health/liveness
  READINESS_URL default http://localhost:8081/actuator/health/readiness
  SYSTEMCTL default systemctl   SERVICE_NAME default globalmcp
  BACKUP_CONFIG_CMD default backup-config.sh next to this script (empty: skip)
  WAIT_TRIES WAIT_INTERVAL   after a restart, default 12 and 10 (seconds)
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

SCRIPT_DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=globalmcp-ops-lib.sh
. "$SCRIPT_DIR/globalmcp-ops-lib.sh"

LOG_DIR="${LOG_DIR:-/var/log/globalmcp}"
DATA_DIR="${DATA_DIR:-/var/lib/globalmcp}"
DISK_THRESHOLD="${DISK_THRESHOLD:-90}"
LOG_RETENTION_DAYS="${LOG_RETENTION_DAYS:-7}"
LOAD_THRESHOLD="${LOAD_THRESHOLD:-$(nproc 2>/dev/null || echo 1)}"
LIVENESS_URL="${LIVENESS_URL:-http://localhost:8081/actuator/health/liveness}"
READINESS_URL="${READINESS_URL:-http://localhost:8081/actuator/health/readiness}"
SERVICE_NAME="${SERVICE_NAME:-globalmcp}"
BACKUP_CONFIG_CMD="${BACKUP_CONFIG_CMD-$SCRIPT_DIR/backup-config.sh}"

status=0
gm_log "Starting daily maintenance..."

# 1. Disk space
for dir in "$LOG_DIR" "$DATA_DIR"; do
  [ -d "$dir" ] || continue
  used="$(df -P "$dir" | awk 'NR == 2 { sub(/%/, "", $5); print $5 }')"
  if [ "${used:-0}" -ge "$DISK_THRESHOLD" ]; then
    gm_warn "High disk usage: ${used}% on the file system of $dir"
    if [ -d "$LOG_DIR" ]; then
      find "$LOG_DIR" -type f -name '*.log*' -mtime +"$LOG_RETENTION_DAYS" -print -delete
    fi
  else
    gm_log "Disk usage ${used}% for $dir"
  fi
done

# 2. System load
load="$(cut -d' ' -f1 /proc/loadavg)"
if awk -v l="$load" -v t="$LOAD_THRESHOLD" 'BEGIN { exit !(l > t) }'; then
  gm_warn "High system load: $load (threshold $LOAD_THRESHOLD)"
else
  gm_log "System load $load"
fi

# 3. Application health
if curl -fsS -o /dev/null --max-time 10 "$LIVENESS_URL"; then
  gm_log "Liveness OK"
else
  gm_warn "Liveness check failed ($LIVENESS_URL): restarting $SERVICE_NAME"
  gm_systemctl restart "$SERVICE_NAME"
  if gm_wait_http "$LIVENESS_URL" "${WAIT_TRIES:-12}" "${WAIT_INTERVAL:-10}"; then
    gm_log "$SERVICE_NAME is alive again"
  else
    gm_warn "ERROR: $SERVICE_NAME is still not alive: check journalctl -u $SERVICE_NAME"
    status=1
  fi
fi
if curl -fsS -o /dev/null --max-time 10 "$READINESS_URL"; then
  gm_log "Readiness OK"
else
  gm_warn "Not ready ($READINESS_URL): $(curl -sS --max-time 10 "$READINESS_URL" 2>&1 || true)"
fi

# 4. Configuration backup
if [ -n "$BACKUP_CONFIG_CMD" ]; then
  "$BACKUP_CONFIG_CMD" || { gm_warn "Configuration backup failed"; status=1; }
fi

gm_log "Daily maintenance completed"
exit "$status"
