#!/usr/bin/env bash
# Stop a cluster started by start-postgres.sh and remove its data (nothing else is touched).
#
#   stop-postgres.sh [PORT] [--keep]   (--keep leaves the data directory, so the next
#                                       start-postgres.sh PORT brings back the same tables)
set -euo pipefail
port="${1:-${S3DB_TEST_POSTGRES_PORT:-25432}}"
H="${PG_TEST_HOME:-${TMPDIR:-/tmp}/s3db-test-servers}"
root="$H/pg-$port"
data="$root/data"

if command -v pg_ctl >/dev/null 2>&1; then
  pg_ctl="$(command -v pg_ctl)"
else
  pg_ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1 || true)
fi
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ -n "$pg_ctl" && -f "$data/postmaster.pid" ]]; then
  as_owner "$pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 || true
  echo "stopped PostgreSQL on $port" >&2
else
  echo "PostgreSQL on $port was not running" >&2
fi
if [[ "${2:-}" != "--keep" ]]; then rm -rf "$root"; fi
