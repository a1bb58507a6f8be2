#!/bin/sh
# Dump the Linli database named by LINLI_DATABASE_URL into LINLI_BACKUP_DIR (custom format,
# compressed, restorable with pg_restore) and delete dumps older than LINLI_BACKUP_KEEP_DAYS.
set -eu
: "${LINLI_DATABASE_URL:?LINLI_DATABASE_URL is not set}"
: "${LINLI_BACKUP_DIR:?LINLI_BACKUP_DIR is not set}"
keep="${LINLI_BACKUP_KEEP_DAYS:-14}"
# pg_dump takes a libpq URL: drop SQLAlchemy's "+asyncpg" driver suffix.
url=$(printf '%s' "$LINLI_DATABASE_URL" | sed 's#^postgresql+[a-z0-9]*://#postgresql://#')
case "$url" in
  postgresql://*) ;;
  *) echo "linli-backup: LINLI_DATABASE_URL is not PostgreSQL" >&2; exit 2 ;;
esac
umask 077
mkdir -p "$LINLI_BACKUP_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$LINLI_BACKUP_DIR/linli-$stamp.dump"
pg_dump --format=custom --no-owner --dbname="$url" --file="$target.partial"
mv "$target.partial" "$target"
find "$LINLI_BACKUP_DIR" -name 'linli-*.dump' -type f -mtime +"$keep" -delete
echo "$target"
