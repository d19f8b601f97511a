#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the demo and the tests.
#   pgcluster.sh start DIR   create (once) and start a cluster in DIR
#   pgcluster.sh stop DIR    stop it (the data stays for a later start)
#   pgcluster.sh dsn DIR     print the DSN of its `postgres` database
# The cluster listens on 127.0.0.1 at a free port (kept in DIR/port) and on
# a Unix socket in DIR; it is tuned for speed, not durability (fsync off).
# Postgres refuses to run as root, so as root the server runs as the
# `postgres` system user.
set -euo pipefail

cmd=${1:-}; dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|dsn DIR" >&2; exit 2
fi

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  echo "pgcluster: no PostgreSQL server found under /usr/lib/postgresql (install the 'postgresql' package: scripts/setup.sh)" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
  done
  echo "pgcluster: no free port found" >&2; exit 1
}

dsn() { echo "host=127.0.0.1 port=$(cat "$dir/port") user=postgres dbname=postgres"; }

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
      --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if as_owner "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    dsn; exit 0
  fi
  port=$(free_port)
  echo "$port" > "$dir/port"
  as_owner "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
        -c shared_buffers=256MB" >/dev/null || {
    tail -n 20 "$dir/server.log" >&2; exit 1; }
  dsn
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as_owner "$pgbin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
dsn)
  dsn
  ;;
*)
  echo "usage: $0 start|stop|dsn DIR" >&2; exit 2 ;;
esac
