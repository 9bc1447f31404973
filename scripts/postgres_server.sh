#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: `postgres_server.sh start DIR` initialises a
# cluster in DIR (a fresh directory), starts it on a free port on 127.0.0.1 (and a unix
# socket in DIR), and prints its DSN; `postgres_server.sh stop DIR` stops it and removes
# DIR. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user. When it
# cannot start, one line on stderr says why, and the exit code is 1.
set -euo pipefail
cmd="${1:?usage: postgres_server.sh start|stop DIR}"
dir="${2:?usage: postgres_server.sh start|stop DIR}"
fail() { echo "PostgreSQL test server: $*" >&2; exit 1; }

bindir="${DQ_PG_BINDIR:-}"
if [ -z "$bindir" ]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi

as_owner() {  # run as the cluster's owner: `postgres` when we are root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    [ -x "$bindir/pg_ctl" ] || fail "no PostgreSQL server binaries (pg_ctl) under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || fail "running as root and there is no 'postgres' user to run the server as"
        as_owner sh -c ': >/dev/null' 2>/dev/null || fail "/dev/null is not writable for the postgres user ($(ls -l /dev/null))"
        chown postgres "$dir" || fail "cannot hand $dir to the postgres user"
    fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || fail "initdb failed: $(grep -m1 -iE 'error|fatal|could not' "$dir/initdb.log" || tail -n 1 "$dir/initdb.log")"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null 2>&1 \
        || fail "pg_ctl start failed: $(grep -m1 -iE 'error|fatal' "$dir/server.log" 2>/dev/null || echo 'see server.log')"
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    [ -d "$dir/data" ] && [ -x "$bindir/pg_ctl" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    fail "unknown command '$cmd' (start or stop)"
    ;;
esac
