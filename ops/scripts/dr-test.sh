#!/usr/bin/env bash
# dr-test.sh -- disaster-recovery drill: backup, destroy, restore, verify (deployment guide section 10.3).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: dr-test.sh --yes [--latest] [--no-service]

DESTRUCTIVE: drops the globalmcp database. Run it on a staging copy, or in a maintenance window.
  1. with API_KEY set: records the registered servers (GET $API_URL/api/servers);
  2. stops the gateway, fingerprints every table of the database (row count + checksum per table);
  3. takes a fresh backup (backup-postgres.sh), or with --latest uses the newest one in BACKUP_DIR
     (its contents are then older than the database: the fingerprint comparison is skipped);
  4. destroys the database (DROP DATABASE ... WITH (FORCE)); with RESTART_POSTGRES=1 also stops and starts
     the PostgreSQL service (PG_SERVICE);
  5. restores it (restore-postgres.sh) and compares the fingerprint with step 2;
  6. starts the gateway, waits for readiness, and with API_KEY compares the registered servers with step 1.
Exits 0 when everything matches ("DR test successful"), 1 otherwise.

  --no-service  do not stop/start the gateway (it must not be running against this database)

Environment:
  DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD   or DATABASE_URL / SPRING_DATASOURCE_URL (+ _USERNAME/_PASSWORD)
  DB_ADMIN_USER  role that may drop and create the database (default DB_USER)   MAINTENANCE_DB default postgres
  BACKUP_DIR default /backup/postgres   PSQL default psql
  BACKUP_POSTGRES_CMD RESTORE_POSTGRES_CMD   default the sibling scripts
  SYSTEMCTL default systemctl   SERVICE_NAME default globalmcp   PG_SERVICE default postgresql
  HEALTH_URL default http://localhost:8081/actuator/health/readiness   WAIT_TRIES WAIT_INTERVAL default 30, 10
  API_URL default http://localhost:8080   API_KEY (X-API-Key with mcp:read; optional)
USAGE
}

CONFIRMED=0 USE_LATEST=0 MANAGE_SERVICE=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --yes) CONFIRMED=1 ;;
    --latest) USE_LATEST=1 ;;
    --no-service) MANAGE_SERVICE=0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$CONFIRMED" != 1 ]; then
  usage >&2
  echo >&2
  echo "Refusing to run without --yes: this drill drops the database." >&2
  exit 1
fi

SCRIPT_DIR="$(dirname "$(readlink -f "$0")")"
# shellcheck source=globalmcp-ops-lib.sh
. "$SCRIPT_DIR/globalmcp-ops-lib.sh"
gm_db_settings

PSQL="${PSQL:-psql}"
BACKUP_DIR="${PG_BACKUP_DIR:-${BACKUP_DIR:-/backup/postgres}}"
BACKUP_POSTGRES_CMD="${BACKUP_POSTGRES_CMD:-$SCRIPT_DIR/backup-postgres.sh}"
RESTORE_POSTGRES_CMD="${RESTORE_POSTGRES_CMD:-$SCRIPT_DIR/restore-postgres.sh}"
SERVICE_NAME="${SERVICE_NAME:-globalmcp}"
PG_SERVICE="${PG_SERVICE:-postgresql}"
HEALTH_URL="${HEALTH_URL:-http://localhost:8081/actuator/health/readiness}"
API_URL="${API_URL:-http://localhost:8080}"
MAINTENANCE_DB="${MAINTENANCE_DB:-postgres}"
ADMIN_USER="${DB_ADMIN_USER:-$DB_USER}"
export PG_BACKUP_DIR="$BACKUP_DIR"

sql() { "$PSQL" -h "$DB_HOST" -p "$DB_PORT" -U "$1" -d "$2" --no-password -v ON_ERROR_STOP=1 -XAtq -c "$3"; }

# One line per table of the public schema: name, row count, checksum of the rows in a stable order.
fingerprint() {
  local table
  sql "$DB_USER" "$DB_NAME" "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1" \
    | while IFS= read -r table; do
      sql "$DB_USER" "$DB_NAME" "SELECT '$table', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM public.\"$table\" t"
    done
}

server_ids() {
  curl -fsS --max-time 10 -H "X-API-Key: $API_KEY" "$API_URL/api/servers?limit=200" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);console.log(b.servers.map(x=>x.id).sort().join(","))})'
}

gm_log "Starting disaster recovery test of database $DB_NAME on $DB_HOST:$DB_PORT..."

servers_before=""
if [ -n "${API_KEY:-}" ]; then
  servers_before="$(server_ids)"
  gm_log "Registered servers: $servers_before"
fi

if [ "$MANAGE_SERVICE" = 1 ]; then
  gm_log "Stopping $SERVICE_NAME"
  gm_systemctl stop "$SERVICE_NAME"
fi

before="$(fingerprint)"
[ -n "$before" ] || gm_die "Database $DB_NAME has no tables: nothing to test"
gm_log "Fingerprint before: $(echo "$before" | wc -l) tables"

if [ "$USE_LATEST" = 1 ]; then
  backup_file="$(find "$BACKUP_DIR" -maxdepth 1 -name "${DB_NAME}_*.sql.gz" -printf '%T@ %p\n' | sort -rn | head -n 1 | cut -d' ' -f2-)"
  [ -n "$backup_file" ] || gm_die "No backup in $BACKUP_DIR"
else
  backup_file="$("$BACKUP_POSTGRES_CMD" | tail -n 1)"
fi
[ -f "$backup_file" ] || gm_die "Backup file not found: $backup_file"
gm_log "Testing restoration from: $backup_file"

gm_log "Simulating the loss of database $DB_NAME"
sql "$ADMIN_USER" "$MAINTENANCE_DB" "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null
if [ "${RESTART_POSTGRES:-0}" = 1 ]; then
  gm_systemctl stop "$PG_SERVICE"
  gm_systemctl start "$PG_SERVICE"
fi
if sql "$DB_USER" "$DB_NAME" "SELECT 1" >/dev/null 2>&1; then gm_die "Database $DB_NAME still exists"; fi

"$RESTORE_POSTGRES_CMD" --no-service "$backup_file"

status=0
after="$(fingerprint)"
if [ "$USE_LATEST" = 1 ]; then
  gm_log "Restored $(echo "$after" | wc -l) tables (contents not compared: --latest)"
elif [ "$before" = "$after" ]; then
  gm_log "Every table matches its state before the drill"
else
  gm_warn "The restored database differs:"
  diff <(echo "$before") <(echo "$after") >&2 || true
  status=1
fi

if [ "$MANAGE_SERVICE" = 1 ]; then
  gm_log "Starting $SERVICE_NAME"
  gm_systemctl start "$SERVICE_NAME"
  if gm_wait_http "$HEALTH_URL" "${WAIT_TRIES:-30}" "${WAIT_INTERVAL:-10}"; then
    gm_log "$SERVICE_NAME is ready"
    if [ -n "$servers_before" ]; then
      servers_after="$(server_ids || true)"
      if [ "$servers_after" = "$servers_before" ]; then
        gm_log "The gateway serves the same servers: $servers_after"
      else
        gm_warn "Servers before: $servers_before; after: $servers_after"
        status=1
      fi
    fi
  else
    gm_warn "$SERVICE_NAME did not become ready"
    status=1
  fi
fi

if [ "$status" = 0 ]; then
  echo "DR test successful"
else
  echo "DR test failed" >&2
fi
gm_log "Disaster recovery test completed"
exit "$status"
