#!/usr/bin/env bash
# Stop a node started by start-rabbitmq.sh, its epmd, and remove its data (nothing else is
# touched).
#
#   stop-rabbitmq.sh [PORT] [--keep]   (--keep leaves the data directory)
set -euo pipefail
port="${1:-${S3DB_TEST_AMQP_PORT:-25680}}"
H="${RABBITMQ_TEST_HOME:-${TMPDIR:-/tmp}/s3db-test-servers}"
root="$H/rabbitmq-$port"
sbin=/usr/lib/rabbitmq/bin

run() {
  local env=(HOME="$root" RABBITMQ_NODENAME="s3db-test-$port@localhost" ERL_EPMD_PORT="$((port + 2))")
  if [[ "$(id -u)" == 0 ]]; then runuser -u rabbitmq -- env "${env[@]}" "$@"; else env "${env[@]}" "$@"; fi
}

if [[ -d "$root" && -x "$sbin/rabbitmqctl" ]] && run "$sbin/rabbitmqctl" -q stop >&2 2>/dev/null; then
  echo "stopped RabbitMQ on $port" >&2
else
  echo "RabbitMQ on $port was not running" >&2
fi
# The epmd this node started on its own port (it outlives the node).
if command -v epmd >/dev/null 2>&1; then
  run epmd -port "$((port + 2))" -kill >/dev/null 2>&1 || true
fi
if [[ "${2:-}" != "--keep" ]]; then rm -rf "$root"; fi
