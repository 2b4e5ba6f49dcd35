#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1 (installing PostgreSQL first if missing).
#
#   start-postgres.sh [PORT]        # default port: $S3DB_TEST_POSTGRES_PORT or 25432
#
# Prints the connection URL (postgres://postgres@127.0.0.1:PORT/s3db_test) on stdout as its
# last line. Stop it with: stop-postgres.sh [PORT] [--keep]
#
# The cluster lives in $PG_TEST_HOME/pg-PORT (default: s3db-test-servers under the system
# temp dir), owned by the `postgres` user when run as root (postgres refuses to run as root),
# with trust authentication, listening on 127.0.0.1 only. A data directory kept by
# `stop-postgres.sh PORT --keep` is started again as it is (same tables); otherwise the
# cluster is created fresh.
#
# Environment (all optional):
#   S3DB_TEST_POSTGRES_PORT  port (default 25432) when no PORT argument is given
#   PG_TEST_HOME             scratch root (default ${TMPDIR:-/tmp}/s3db-test-servers)
#   PG_TEST_DATABASE         database created in the cluster (default s3db_test)
set -euo pipefail

port="${1:-${S3DB_TEST_POSTGRES_PORT:-25432}}"
H="${PG_TEST_HOME:-${TMPDIR:-/tmp}/s3db-test-servers}"
dbname="${PG_TEST_DATABASE:-s3db_test}"
root="$H/pg-$port"
data="$root/data"
log="$root/postgres.log"
url="postgres://postgres@127.0.0.1:$port/$dbname"

# The PostgreSQL binaries: pg_ctl on PATH, else the newest Debian install, else apt-get.
find_bindir() {
  if command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then echo "$dir"; fi
}
bindir=$(find_bindir)
if [[ -z "$bindir" ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "installing PostgreSQL (apt-get install postgresql) ..." >&2
  t0=$(date +%s)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends postgresql >&2
  echo "PostgreSQL install took $(( $(date +%s) - t0 ))s" >&2
  bindir=$(find_bindir)
  if [[ -z "$bindir" ]]; then echo "apt-get installed no pg_ctl" >&2; exit 1; fi
fi

# Run a PostgreSQL program as the postgres user when we are root, as ourselves otherwise.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

mkdir -p "$root"
chmod 755 "$H" 2>/dev/null || true
if [[ "$(id -u)" == 0 ]]; then chown postgres: "$root"; fi

if [[ -f "$data/postmaster.pid" ]] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  echo "already running: PostgreSQL on $port (data $data)" >&2
  echo "$url"; exit 0
fi
if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
  echo "port $port is already answering (not ours); pick another" >&2; exit 1
fi

if [[ ! -f "$data/PG_VERSION" ]]; then
  rm -rf "$data"
  as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$root/initdb.log" 2>&1 \
    || { echo "initdb failed; log:" >&2; tail -20 "$root/initdb.log" >&2; exit 1; }
  fresh=1
else
  fresh=0
fi

# The Unix socket goes to the cluster's own directory (/var/run/postgresql may not exist).
as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >&2 \
  || { echo "PostgreSQL did not start on $port; log:" >&2; tail -20 "$log" >&2; exit 1; }

if [[ "$fresh" == 1 ]]; then
  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$dbname"
fi
echo "PostgreSQL up on 127.0.0.1:$port (data $data, log $log)" >&2
echo "$url"
