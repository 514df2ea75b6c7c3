#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the test suite and print its URL.
# Installs Debian's `postgresql` package when no server binaries are present.
# Idempotent: a server already running in $PGDATA_DIR is reused.
set -euo pipefail
PORT="${MEDIAMATCH_PG_PORT:-54329}"
PGDATA_DIR="${MEDIAMATCH_PGDATA:-/tmp/mediamatch-pg-$PORT}"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(bindir)" ]; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  else
    echo "PostgreSQL server binaries not found; install Debian's postgresql package" >&2; exit 1
  fi
fi
BIN="$(bindir)"
# initdb refuses to run as root: run the server as the `postgres` system user then.
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
  mkdir -p "$PGDATA_DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA_DIR"
  as_owner "$BIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 >/dev/null
fi
if ! as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$PGDATA_DIR" -w -l "$PGDATA_DIR/server.log" \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
