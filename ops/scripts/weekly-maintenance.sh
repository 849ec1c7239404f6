#!/usr/bin/env bash
# weekly-maintenance.sh -- full backup, ANALYZE, update and certificate checks, report (deployment guide 10.1).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: weekly-maintenance.sh [-h]

1. Runs backup-postgres.sh.
2. ANALYZE of the globalmcp database (psql with the database settings below).
3. Lists upgradable packages (apt; skipped where apt is missing or SKIP_APT=1).
4. Warns when CERT_FILE expires within CERT_WARN_DAYS days.
5. Writes $REPORT_DIR/weekly-report-<YYYYmmdd>.txt: uptime, disk, memory, the gateway's /actuator/info, its
   database pool gauges and memory metrics.

Environment:
  DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD   or DATABASE_URL / SPRING_DATASOURCE_URL (+ _USERNAME/_PASSWORD)
  BACKUP_POSTGRES_CMD default backup-postgres.sh next to this script (empty: skip)
  PSQL default psql   SKIP_APT default 0
  CERT_FILE default /etc/ssl/certs/globalmcp.crt   CERT_WARN_DAYS default 30
  MANAGEMENT_URL default http://localhost:8081   REPORT_DIR default /var/log/globalmcp
  MANAGEMENT_API_KEY  an mcp:admin API key for /actuator/metrics and the full /actuator/info (optional)
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
gm_db_settings

BACKUP_POSTGRES_CMD="${BACKUP_POSTGRES_CMD-$SCRIPT_DIR/backup-postgres.sh}"
PSQL="${PSQL:-psql}"
CERT_FILE="${CERT_FILE:-/etc/ssl/certs/globalmcp.crt}"
CERT_WARN_DAYS="${CERT_WARN_DAYS:-30}"
MANAGEMENT_URL="${MANAGEMENT_URL:-http://localhost:8081}"
REPORT_DIR="${REPORT_DIR:-/var/log/globalmcp}"
REPORT="$REPORT_DIR/weekly-report-$(date +%Y%m%d).txt"
status=0

gm_log "Starting weekly maintenance..."

if [ -n "$BACKUP_POSTGRES_CMD" ]; then
  "$BACKUP_POSTGRES_CMD" || { gm_warn "Database backup failed"; status=1; }
fi

gm_log "Analyzing database $DB_NAME"
"$PSQL" -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" --no-password -v ON_ERROR_STOP=1 -qc 'ANALYZE;' \
  || { gm_warn "ANALYZE failed"; status=1; }

if [ "${SKIP_APT:-0}" != 1 ] && command -v apt >/dev/null 2>&1; then
  apt list --upgradable 2>/dev/null || true
fi

if [ -f "$CERT_FILE" ]; then
  openssl x509 -in "$CERT_FILE" -noout -enddate
  if ! openssl x509 -in "$CERT_FILE" -noout -checkend "$((CERT_WARN_DAYS * 86400))" >/dev/null; then
    gm_warn "Certificate $CERT_FILE expires within $CERT_WARN_DAYS days"
    status=1
  fi
fi

# /actuator/metrics and the full /actuator/info need an mcp:admin credential (MANAGEMENT_API_KEY).
auth=()
[ -n "${MANAGEMENT_API_KEY:-}" ] && auth=(-H "X-API-Key: $MANAGEMENT_API_KEY")
metric() { curl -fsS --max-time 10 "${auth[@]}" "$MANAGEMENT_URL/actuator/metrics/$1" 2>&1 || true; }
mkdir -p "$REPORT_DIR"
{
  echo "=== Weekly Maintenance Report ==="
  echo "Date: $(date)"
  echo "System uptime: $(uptime)"
  echo "Disk usage:"
  df -h
  echo "Memory usage:"
  free -h 2>/dev/null || cat /proc/meminfo
  echo "Gateway info:"
  curl -fsS --max-time 10 "${auth[@]}" "$MANAGEMENT_URL/actuator/info" 2>&1 || true
  echo
  echo "Database pool (active / idle / max):"
  metric db_pool_connections_active
  echo
  metric db_pool_connections_idle
  echo
  metric db_pool_connections_max
  echo
  echo "Resident memory:"
  metric process_resident_memory_bytes
  echo
} >"$REPORT"
gm_log "Report written to $REPORT"

gm_log "Weekly maintenance completed"
exit "$status"
