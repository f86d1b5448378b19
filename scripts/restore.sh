#!/usr/bin/env bash
# Restore a scripts/backup.sh dump into a NEW database (never over a live one). See README "Backups".
#
#   scripts/restore.sh instance/backups/shop-20261128T020000Z.dump postgresql://postgres@127.0.0.1/shop_restored
#
# Checks the dump's .sha256 when present, creates the target database (refuses if it exists), restores
# with pg_restore in one transaction (all or nothing, stops at the first error), then prints row counts
# of the ledger and the audit log so they can be compared with the source. To go live, point
# DATABASE_URL at the restored database (or rename databases while the app is stopped).
set -euo pipefail

dump="${1:?usage: restore.sh DUMP TARGET_DATABASE_URL}"
url="${2:?usage: restore.sh DUMP TARGET_DATABASE_URL}"
url="${url/postgresql+psycopg:/postgresql:}"
url="${url/postgresql+psycopg2:/postgresql:}"

[[ -r "$dump" ]] || { echo "restore.sh: cannot read $dump" >&2; exit 2; }
if [[ -f "$dump.sha256" ]]; then
    (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256")
fi

# The database name is the URL's path (without query string); the server's maintenance database
# `postgres` is used to create it.
base="${url%%\?*}"
name="${base##*/}"
query=""; [[ "$url" == *\?* ]] && query="?${url#*\?}"
[[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "restore.sh: unsupported database name '$name'" >&2; exit 2; }
admin="${base%/*}/postgres$query"

exists="$(psql "$admin" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$name'")"
if [[ -n "$exists" ]]; then
    echo "restore.sh: database $name already exists; restore into a fresh one" >&2
    exit 3
fi
psql "$admin" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$name\""

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$dump"

psql "$url" -XAt -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'alembic_version ' || version_num FROM alembic_version;
SELECT 'income_entries ' || count(*) || ' rows, ' || coalesce(sum(amount_fen), 0) || ' fen' FROM income_entries;
SELECT 'audit_log ' || count(*) || ' rows' FROM audit_log;
SELECT 'orders ' || count(*) || ' rows' FROM orders;
SQL
