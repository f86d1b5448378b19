#!/usr/bin/env bash
# Back up the shop's PostgreSQL database with pg_dump (custom format: compressed, restorable table by
# table with pg_restore, portable across minor versions). See README "Backups".
#
#   scripts/backup.sh                       # DATABASE_URL from the environment (or .env)
#   scripts/backup.sh postgresql://shop@db/shop
#
# Writes $BACKUP_DIR/shop-<UTC timestamp>.dump (default instance/backups) and a .sha256 beside it,
# checks the archive is readable (pg_restore --list), deletes dumps older than $BACKUP_KEEP_DAYS
# (default 14; 0 keeps all) and prints the path of the new dump. Exits non-zero on any failure,
# leaving no partial dump behind.
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -z "${DATABASE_URL:-}" && -f .env ]]; then
    DATABASE_URL="$(sed -n 's/^DATABASE_URL=//p' .env | tail -1 | tr -d '"'"'"'')"
fi
url="${1:-${DATABASE_URL:-}}"
case "$url" in
    postgresql*|postgres:*) ;;
    *) echo "backup.sh: need a PostgreSQL DATABASE_URL (got '${url:-nothing}'); SQLite: copy instance/shop.sqlite3" >&2
       exit 2 ;;
esac
url="${url/postgresql+psycopg:/postgresql:}"   # SQLAlchemy's driver suffix means nothing to libpq
url="${url/postgresql+psycopg2:/postgresql:}"

dir="${BACKUP_DIR:-instance/backups}"
keep="${BACKUP_KEEP_DAYS:-14}"
mkdir -p "$dir"
out="$dir/shop-$(date -u +%Y%m%dT%H%M%SZ).dump"
tmp="$out.partial"
trap 'rm -f "$tmp"' EXIT

# One consistent snapshot (pg_dump runs in a single repeatable-read transaction); writers are not blocked.
pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$tmp" "$url"
pg_restore --list "$tmp" >/dev/null   # the archive's table of contents reads back
mv "$tmp" "$out"
(cd "$dir" && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")

if [[ "$keep" -gt 0 ]]; then
    find "$dir" -maxdepth 1 -name 'shop-*.dump*' -mtime +"$keep" -delete
fi
echo "$out"
