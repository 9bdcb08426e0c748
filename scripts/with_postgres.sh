#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: initdb in a temp folder,
# start it on a free loopback port, export DATABASE_URL, tear it all down after.
#   scripts/with_postgres.sh COMMAND [ARGS...]
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "PostgreSQL server binaries not found: sudo apt-get install postgresql (or set PG_BIN)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/stemroom-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root.
  chown postgres "$work"
  as_owner=(runuser -u postgres --)
fi

stop() {
  "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap stop EXIT

"${as_owner[@]}" "$PG_BIN/initdb" -D "$work/data" -U stemroom --auth=trust -E UTF8 --no-sync >/dev/null
# Durability is pointless for a cluster that lives for one test run.
options="-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
"${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "$options" start >/dev/null
"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U stemroom stemroom

export DATABASE_URL="postgres://stemroom@127.0.0.1:$port/stemroom"
# For the fault test that stops PostgreSQL mid-job and starts it again (tests/test_job_faults.py).
export STEMROOM_TEST_PG_BIN="$PG_BIN" STEMROOM_TEST_PG_DATA="$work/data" STEMROOM_TEST_PG_LOG="$work/server.log"
export STEMROOM_TEST_PG_OPTIONS="$options"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $port"
"$@"
