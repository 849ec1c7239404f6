#!/usr/bin/env bash
# backup-config.sh -- archives the gateway's configuration directory (deployment guide section 7.2).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: backup-config.sh [-h]

Archives CONFIG_DIR (application.yml, servers.yml, globalmcp.env, ...) into
$BACKUP_DIR/globalmcp-config_<YYYYmmdd_HHMMSS>.tar.gz (mode 0600: the env file holds secrets) and keeps the
newest KEEP archives. Prints the archive path on the last line.

Environment:
  CONFIG_DIR   default /etc/globalmcp
  BACKUP_DIR   default /backup/config (CONFIG_BACKUP_DIR wins when set)
  KEEP         default 7
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

# shellcheck source=globalmcp-ops-lib.sh
. "$(dirname "$(readlink -f "$0")")/globalmcp-ops-lib.sh"

CONFIG_DIR="${CONFIG_DIR:-/etc/globalmcp}"
BACKUP_DIR="${CONFIG_BACKUP_DIR:-${BACKUP_DIR:-/backup/config}}"
KEEP="${KEEP:-7}"
DATE="$(date +%Y%m%d_%H%M%S)"
BACKUP_FILE="${BACKUP_DIR}/globalmcp-config_${DATE}.tar.gz"

[ -d "$CONFIG_DIR" ] || gm_die "Configuration directory not found: $CONFIG_DIR"
mkdir -p "$BACKUP_DIR"
umask 077

CONFIG_DIR="$(cd "$CONFIG_DIR" && pwd)"
tar -czf "$BACKUP_FILE" -C "$(dirname "$CONFIG_DIR")" "$(basename "$CONFIG_DIR")"

if [ -s "$BACKUP_FILE" ] && tar -tzf "$BACKUP_FILE" >/dev/null; then
  gm_log "Configuration backup completed: $BACKUP_FILE"
  gm_log "Backup size: $(du -h "$BACKUP_FILE" | cut -f1)"
else
  gm_die "Configuration backup failed!"
fi

# Retain only the newest KEEP archives.
find "$BACKUP_DIR" -maxdepth 1 -name 'globalmcp-config_*.tar.gz' -printf '%T@ %p\n' \
  | sort -rn | tail -n +"$((KEEP + 1))" | cut -d' ' -f2- \
  | while IFS= read -r old; do rm -f -- "$old"; done

gm_log "Configuration backup process completed"
echo "$BACKUP_FILE"
