#!/usr/bin/env bash
# backup-postgres.sh -- compressed logical backup of the globalmcp database (deployment guide section 7.1).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: backup-postgres.sh [-h]

Dumps the globalmcp database with pg_dump (--clean --create --if-exists, so restore-postgres.sh recreates it)
into $BACKUP_DIR/<db>_<YYYYmmdd_HHMMSS>.sql.gz, verifies the file, deletes backups older than RETENTION_DAYS,
and uploads to S3 when S3_BUCKET is set. Prints the backup path on the last line.

Environment:
  DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD   or DATABASE_URL / SPRING_DATASOURCE_URL (+ _USERNAME/_PASSWORD)
  BACKUP_DIR        default /backup/postgres (PG_BACKUP_DIR wins when set)
  RETENTION_DAYS    default 30
  S3_BUCKET         optional; uploads with `aws s3 cp`
  PG_DUMP           default pg_dump (same major version as the server, or newer)
Cron:  0 2 * * * /usr/local/bin/backup-postgres.sh >> /var/log/globalmcp/backup.log 2>&1
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

# shellcheck source=globalmcp-ops-lib.sh
. "$(dirname "$(readlink -f "$0")")/globalmcp-ops-lib.sh"
gm_db_settings

BACKUP_DIR="${PG_BACKUP_DIR:-${BACKUP_DIR:-/backup/postgres}}"
RETENTION_DAYS="${RETENTION_DAYS:-30}"
PG_DUMP="${PG_DUMP:-pg_dump}"
DATE="$(date +%Y%m%d_%H%M%S)"
BACKUP_FILE="${BACKUP_DIR}/${DB_NAME}_${DATE}.sql.gz"

mkdir -p "$BACKUP_DIR"
umask 077
PARTIAL="${BACKUP_FILE}.partial"
trap 'rm -f "$PARTIAL"' EXIT

gm_log "Starting backup of database $DB_NAME on $DB_HOST:$DB_PORT as $DB_USER..."
"$PG_DUMP" -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" \
  --clean --create --if-exists --no-password \
  | gzip -6 >"$PARTIAL"

# A complete dump ends with pg_dump's trailer; a truncated one would restore half a database.
gzip -t "$PARTIAL" || gm_die "Backup failed: $PARTIAL is not a valid gzip file"
if ! gzip -dc "$PARTIAL" | tail -n 5 | grep -q 'PostgreSQL database dump complete'; then
  gm_die "Backup failed: the dump is incomplete"
fi
mv "$PARTIAL" "$BACKUP_FILE"
gm_log "Backup completed successfully: $BACKUP_FILE"
gm_log "Backup size: $(du -h "$BACKUP_FILE" | cut -f1)"

find "$BACKUP_DIR" -maxdepth 1 -name "${DB_NAME}_*.sql.gz" -mtime +"$RETENTION_DAYS" -delete
gm_log "Cleaned up backups older than $RETENTION_DAYS days"

if [ -n "${S3_BUCKET:-}" ]; then
  aws s3 cp "$BACKUP_FILE" "s3://$S3_BUCKET/postgres-backups/"
  gm_log "Backup uploaded to S3: s3://$S3_BUCKET/postgres-backups/$(basename "$BACKUP_FILE")"
fi

gm_log "Backup process completed"
echo "$BACKUP_FILE"
