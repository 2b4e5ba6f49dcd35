#!/usr/bin/env bash
# Start a throwaway MariaDB server on 127.0.0.1 (installing Debian's mariadb-server first if
# missing).
#
#   start-mysql.sh [PORT]        # default port: $S3DB_TEST_MYSQL_PORT or 23306
#
# Prints the connection URL (mysql://s3db@127.0.0.1:PORT/s3db_test) on stdout as its last
# line. Stop it with: stop-mysql.sh [PORT] [--keep]
#
# The server lives in $MYSQL_TEST_HOME/mysql-PORT (default: s3db-test-servers under the
# system temp dir), runs as the `mysql` user when started as root, listens on 127.0.0.1 only
# (and a socket in its directory), with durability traded for speed (no binlog, InnoDB log
# flushed once a second). The user `s3db` (no password) may do anything. A data directory
# kept by `stop-mysql.sh PORT --keep` is started again as it is (same tables).
#
# Environment (all optional):
#   S3DB_TEST_MYSQL_PORT  port (default 23306) when no PORT argument is given
#   MYSQL_TEST_HOME       scratch root (default ${TMPDIR:-/tmp}/s3db-test-servers)
#   MYSQL_TEST_DATABASE   database created in the server (default s3db_test)
set -euo pipefail

port="${1:-${S3DB_TEST_MYSQL_PORT:-23306}}"
H="${MYSQL_TEST_HOME:-${TMPDIR:-/tmp}/s3db-test-servers}"
dbname="${MYSQL_TEST_DATABASE:-s3db_test}"
root="$H/mysql-$port"
data="$root/data"
sock="$root/mysqld.sock"
pidfile="$root/mysqld.pid"
log="$root/mysqld.log"
url="mysql://s3db@127.0.0.1:$port/$dbname"

find_server() {
  local candidate
  for candidate in "$(command -v mariadbd 2>/dev/null || true)" /usr/sbin/mariadbd \
                   "$(command -v mysqld 2>/dev/null || true)" /usr/sbin/mysqld; do
    if [[ -n "$candidate" && -x "$candidate" ]]; then echo "$candidate"; return; fi
  done
}
server=$(find_server)
if [[ -z "$server" ]] || ! command -v mariadb-install-db >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "MariaDB is not installed and installing it needs root (apt-get install mariadb-server)" >&2
    exit 1
  fi
  echo "installing MariaDB (apt-get install mariadb-server) ..." >&2
  t0=$(date +%s)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends mariadb-server >&2
  echo "MariaDB install took $(( $(date +%s) - t0 ))s" >&2
  server=$(find_server)
  if [[ -z "$server" ]]; then echo "apt-get installed no mariadbd" >&2; exit 1; fi
fi

# As root the server runs as `mysql` and root logs in through the socket; otherwise both
# are the current user.
if [[ "$(id -u)" == 0 ]]; then
  run_as=mysql
  admin_user=root
  if ! id mysql >/dev/null 2>&1; then useradd --system --no-create-home --shell /bin/false mysql; fi
else
  run_as="$(id -un)"
  admin_user="$run_as"
fi
client() { mariadb --no-defaults --protocol=socket -S "$sock" -u "$admin_user" "$@"; }
alive() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

if alive; then
  echo "already running: MariaDB on $port (data $data)" >&2
  echo "$url"; exit 0
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is already answering (not ours); pick another" >&2; exit 1
fi

mkdir -p "$root"
chmod 755 "$H" 2>/dev/null || true
if [[ "$(id -u)" == 0 ]]; then chown mysql: "$root"; fi
if [[ ! -d "$data/mysql" ]]; then
  rm -rf "$data"
  mariadb-install-db --no-defaults --datadir="$data" --user="$run_as" \
    --auth-root-authentication-method=socket --skip-test-db >"$root/install.log" 2>&1 \
    || { echo "mariadb-install-db failed; log:" >&2; tail -20 "$root/install.log" >&2; exit 1; }
  fresh=1
else
  fresh=0
fi

args=(--no-defaults --datadir="$data" --port="$port" --bind-address=127.0.0.1
      --socket="$sock" --pid-file="$pidfile" --log-error="$log" --skip-name-resolve
      --skip-log-bin --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M
      --max-connections=500)
if [[ "$(id -u)" == 0 ]]; then args+=(--user=mysql); fi
setsid "$server" "${args[@]}" </dev/null >/dev/null 2>&1 &

for _ in $(seq 1 120); do
  if mariadb-admin --no-defaults --protocol=socket -S "$sock" -u "$admin_user" ping >/dev/null 2>&1; then
    break
  fi
  sleep 0.5
done
if ! mariadb-admin --no-defaults --protocol=socket -S "$sock" -u "$admin_user" ping >/dev/null 2>&1; then
  echo "MariaDB did not start on $port; log:" >&2; tail -20 "$log" >&2 || true; exit 1
fi

if [[ "$fresh" == 1 ]]; then
  client -e "CREATE USER IF NOT EXISTS 's3db'@'%'; GRANT ALL ON *.* TO 's3db'@'%';
             CREATE DATABASE IF NOT EXISTS \`$dbname\`;"
fi
echo "MariaDB up on 127.0.0.1:$port (data $data, log $log)" >&2
echo "$url"
