#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests, benchmarks and CI, from Debian's packages.
#
#   postgres.sh install      install the server packages if initdb is missing (apt-get)
#   postgres.sh start DIR    create a cluster in DIR (if new), start it on a free loopback
#                            port and print its URL (postgresql://fedcredit@127.0.0.1:PORT/fedcredit)
#   postgres.sh stop DIR     stop the server started in DIR (fast shutdown)
#
# The server listens on 127.0.0.1 only, with trust authentication: it is for tests on this
# machine, never a deployment. As root, the cluster runs as the "postgres" user the package
# creates (PostgreSQL refuses to run as root), so DIR must be reachable by that user.
set -euo pipefail

pg_bin() {
  local initdb
  initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -z "$initdb" ] && command -v initdb >/dev/null 2>&1; then
    initdb="$(command -v initdb)"
  fi
  [ -n "$initdb" ] && dirname "$initdb"
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

install() {
  if [ -n "$(pg_bin || true)" ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "postgres.sh: PostgreSQL is not installed; run as root or: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  # The package starts a system cluster; tests use their own, so stop it again.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for cluster in /etc/postgresql/*/main; do
      [ -d "$cluster" ] || continue
      version="$(basename "$(dirname "$cluster")")"
      pg_ctlcluster "$version" main stop >/dev/null 2>&1 || true
    done
  fi
  [ -n "$(pg_bin || true)" ] || { echo "postgres.sh: initdb still missing after install" >&2; exit 1; }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir="$1" bin port
  install
  bin="$(pg_bin)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir/data" -U fedcredit --auth=trust --encoding=UTF8 \
      --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  port="$(free_port)"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off" \
    >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U fedcredit fedcredit 2>/dev/null || true
  echo "postgresql://fedcredit@127.0.0.1:$port/fedcredit"
}

stop() {
  local dir="$1" bin
  bin="$(pg_bin)"
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  fi
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?usage: postgres.sh start DIR}" ;;
  stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
  *) echo "usage: postgres.sh install | start DIR | stop DIR" >&2; exit 2 ;;
esac
