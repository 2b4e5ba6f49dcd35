#!/usr/bin/env bash
# Stop a server started by start-mysql.sh and remove its data (nothing else is touched).
#
#   stop-mysql.sh [PORT] [--keep]   (--keep leaves the data directory, so the next
#                                    start-mysql.sh PORT brings back the same tables)
set -euo pipefail
port="${1:-${S3DB_TEST_MYSQL_PORT:-23306}}"
H="${MYSQL_TEST_HOME:-${TMPDIR:-/tmp}/s3db-test-servers}"
root="$H/mysql-$port"
pidfile="$root/mysqld.pid"

if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid="$(cat "$pidfile")"
  kill "$pid"   # SIGTERM: a clean shutdown
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
  echo "stopped MariaDB on $port" >&2
else
  echo "MariaDB on $port was not running" >&2
fi
if [[ "${2:-}" != "--keep" ]]; then rm -rf "$root"; fi
