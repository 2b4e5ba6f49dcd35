#!/usr/bin/env bash
# Start a throwaway RabbitMQ node on 127.0.0.1 (installing Debian's rabbitmq-server first if
# missing).
#
#   start-rabbitmq.sh [PORT]        # default port: $S3DB_TEST_AMQP_PORT or 25680
#
# Prints the AMQP URL (amqp://guest:guest@127.0.0.1:PORT/%2f) on stdout as its last line.
# Stop it with: stop-rabbitmq.sh [PORT]
#
# The node is isolated from any other RabbitMQ or Erlang node on the machine: its own node
# name (s3db-test-PORT@localhost), AMQP on PORT, Erlang distribution on PORT+1, its own epmd
# on PORT+2, its data (mnesia), logs, cookie and config under $RABBITMQ_TEST_HOME/rabbitmq-PORT
# (default: s3db-test-servers under the system temp dir), no plugins (no management UI), and
# no /etc/rabbitmq files read. Run as the `rabbitmq` user when started by root.
#
# Environment (all optional):
#   S3DB_TEST_AMQP_PORT   port (default 25680) when no PORT argument is given
#   RABBITMQ_TEST_HOME    scratch root (default ${TMPDIR:-/tmp}/s3db-test-servers)
set -euo pipefail

port="${1:-${S3DB_TEST_AMQP_PORT:-25680}}"
H="${RABBITMQ_TEST_HOME:-${TMPDIR:-/tmp}/s3db-test-servers}"
root="$H/rabbitmq-$port"
url="amqp://guest:guest@127.0.0.1:$port/%2f"
sbin=/usr/lib/rabbitmq/bin

if [[ ! -x "$sbin/rabbitmq-server" ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "RabbitMQ is not installed and installing it needs root (apt-get install rabbitmq-server)" >&2
    exit 1
  fi
  echo "installing RabbitMQ (apt-get install rabbitmq-server) ..." >&2
  t0=$(date +%s)
  # Another script may be installing its own server: wait for the dpkg lock.
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
  "${sudo[@]}" "${apt[@]}" update >&2
  "${sudo[@]}" "${apt[@]}" install -y --no-install-recommends rabbitmq-server >&2
  echo "RabbitMQ install took $(( $(date +%s) - t0 ))s" >&2
  if [[ ! -x "$sbin/rabbitmq-server" ]]; then echo "apt-get installed no $sbin/rabbitmq-server" >&2; exit 1; fi
fi

mkdir -p "$root"
chmod 755 "$H" 2>/dev/null || true
# An empty plugin list (no management plugin) and an empty config: nothing from /etc/rabbitmq.
[[ -f "$root/enabled_plugins" ]] || echo '[].' >"$root/enabled_plugins"
: >"$root/rabbitmq.conf"
: >"$root/rabbitmq-env.conf"
# The cookie of this node and of rabbitmqctl (both read $HOME/.erlang.cookie).
[[ -f "$root/.erlang.cookie" ]] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$root/.erlang.cookie"; }
chmod 600 "$root/.erlang.cookie"
if [[ "$(id -u)" == 0 ]]; then
  id rabbitmq >/dev/null 2>&1 || useradd --system --home-dir /var/lib/rabbitmq --shell /bin/false rabbitmq
  chown -R rabbitmq: "$root"
fi

# Run a RabbitMQ program for this node, as the rabbitmq user when we are root.
node_env=(
  HOME="$root"
  RABBITMQ_NODENAME="s3db-test-$port@localhost"
  RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  RABBITMQ_NODE_PORT="$port"
  RABBITMQ_DIST_PORT="$((port + 1))"
  ERL_EPMD_PORT="$((port + 2))"
  ERL_EPMD_ADDRESS=127.0.0.1
  RABBITMQ_MNESIA_BASE="$root/mnesia"
  RABBITMQ_LOG_BASE="$root/log"
  RABBITMQ_PID_FILE="$root/rabbitmq.pid"
  RABBITMQ_CONFIG_FILE="$root/rabbitmq.conf"
  RABBITMQ_ADVANCED_CONFIG_FILE="$root/advanced.config"
  RABBITMQ_CONF_ENV_FILE="$root/rabbitmq-env.conf"
  RABBITMQ_ENABLED_PLUGINS_FILE="$root/enabled_plugins"
  # One scheduler thread: the test machines are small and shared.
  RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"
)
as_node() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u rabbitmq -- env "${node_env[@]}" "$@"
  else
    env "${node_env[@]}" "$@"
  fi
}

if as_node "$sbin/rabbitmqctl" -q status >/dev/null 2>&1; then
  echo "already running: RabbitMQ on $port (data $root)" >&2
  echo "$url"; exit 0
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is already answering (not ours); pick another" >&2; exit 1
fi

t0=$(date +%s)
as_node setsid nohup "$sbin/rabbitmq-server" >"$root/server.out" 2>&1 </dev/null &
# `await_startup` fails at once while the node is not registered with epmd yet: poll.
until as_node "$sbin/rabbitmqctl" -q await_startup --timeout 60 >/dev/null 2>&1; do
  if (( $(date +%s) - t0 > 120 )); then
    echo "RabbitMQ did not start on $port; output:" >&2
    tail -30 "$root/server.out" >&2
    exit 1
  fi
  sleep 1
done
echo "RabbitMQ up on 127.0.0.1:$port in $(( $(date +%s) - t0 ))s (data $root)" >&2
echo "$url"
