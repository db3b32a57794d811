#!/bin/sh
# The role PgBouncer lets in (and logs in to PostgreSQL as), from the environment.
set -eu
: "${DB_USER:?set DB_USER}" "${DB_PASSWORD:?set DB_PASSWORD}"
userlist=${PGBOUNCER_USERLIST:-/var/run/pgbouncer/userlist.txt}  # pgbouncer.ini's auth_file
umask 077
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$userlist"
exec "$@"
