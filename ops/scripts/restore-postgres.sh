#!/usr/bin/env bash
# restore-postgres.sh -- restores a backup-postgres.sh dump (deployment guide section 7.3).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: restore-postgres.sh [--no-service] <backup_file.sql[.gz]>

Stops the gateway, recreates the database from the dump (it was taken with --clean --create: the database is
dropped and created again), starts the gateway and waits until it is ready. The dump's own database name is used.

  --no-service   leave the gateway alone (it must not be connected to the database)

Environment:
  DB_HOST DB_PORT DB_USER DB_PASSWORD   or DATABASE_URL / SPRING_DATASOURCE_URL (+ _USERNAME/_PASSWORD);
                 the role must be allowed to drop and create the database (its owner with CREATEDB, or a superuser)
  DB_ADMIN_USER  connect as this role instead of DB_USER
  MAINTENANCE_DB database to connect to while the target is recreated (default postgres)
  PSQL           default psql
  SYSTEMCTL      default systemctl (e.g. "sudo systemctl");  SERVICE_NAME  default globalmcp
  HEALTH_URL     default http://localhost:8081/actuator/health/readiness
  WAIT_TRIES WAIT_INTERVAL   default 30 and 10 (seconds)
USAGE
}

MANAGE_SERVICE=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --no-service) MANAGE_SERVICE=0; shift ;;
    -*) usage >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  usage >&2
  exit 1
fi

# shellcheck source=globalmcp-ops-lib.sh
. "$(dirname "$(readlink -f "$0")")/globalmcp-ops-lib.sh"
gm_db_settings

BACKUP_FILE="$1"
PSQL="${PSQL:-psql}"
SERVICE_NAME="${SERVICE_NAME:-globalmcp}"
HEALTH_URL="${HEALTH_URL:-http://localhost:8081/actuator/health/readiness}"
MAINTENANCE_DB="${MAINTENANCE_DB:-postgres}"
RESTORE_USER="${DB_ADMIN_USER:-$DB_USER}"

[ -f "$BACKUP_FILE" ] || gm_die "Backup file not found: $BACKUP_FILE"
case "$BACKUP_FILE" in
  *.gz) gzip -t "$BACKUP_FILE" || gm_die "Backup file is not a valid gzip file: $BACKUP_FILE" ;;
esac

gm_log "Starting database restoration from $BACKUP_FILE..."

if [ "$MANAGE_SERVICE" = 1 ]; then
  gm_log "Stopping $SERVICE_NAME"
  gm_systemctl stop "$SERVICE_NAME"
fi

restore() {
  "$PSQL" -h "$DB_HOST" -p "$DB_PORT" -U "$RESTORE_USER" -d "$MAINTENANCE_DB" \
    --no-password --quiet -v ON_ERROR_STOP=1 -o /dev/null
}
if [[ "$BACKUP_FILE" == *.gz ]]; then
  gzip -dc "$BACKUP_FILE" | restore
else
  restore <"$BACKUP_FILE"
fi
gm_log "Database restoration completed"

if [ "$MANAGE_SERVICE" = 1 ]; then
  gm_log "Starting $SERVICE_NAME"
  gm_systemctl start "$SERVICE_NAME"
  if ! gm_wait_http "$HEALTH_URL" "${WAIT_TRIES:-30}" "${WAIT_INTERVAL:-10}"; then
    gm_die "$SERVICE_NAME did not become ready after the restore: check journalctl -u $SERVICE_NAME"
  fi
  gm_log "Application restarted and ready"
fi
