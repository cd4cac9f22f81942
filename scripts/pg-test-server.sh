#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for photoseal's tests and prints its URI.
#
# Debian's `postgresql` server (scripts/install-deps.sh installs it): a fresh cluster made by
# initdb in a temporary directory, listening on a free loopback port only (no Unix socket in the
# system directory), SCRAM password authentication, with the database `photoseal` created.
# PostgreSQL refuses to run as root, so as root initdb and postgres run as the `postgres` user
# (setpriv), the directory owned by it. Durability is traded for speed (fsync=off): test data only.
#
# Usage:
#   scripts/pg-test-server.sh start [options]         serve in the background; URI on stdout
#   scripts/pg-test-server.sh stop  --pid-file F      stop a server started with `start`, delete its data
# Options:
#   --port P          loopback port (default: a free one)
#   --pid-file F      where `start` writes the server's pid (default /tmp/photoseal-pg.pid)
#   --user U --password P   the superuser and its password (default photoseal and a random one)
#   --watch-pid PID   the server stops by itself once process PID has ended
# Environment:
#   PHOTOSEAL_PG_BIN  PostgreSQL's bin directory (default: the newest /usr/lib/postgresql/*/bin)
#
# Example (CI):
#   export PHOTOSEAL_TEST_POSTGRES_URI="$(scripts/pg-test-server.sh start --pid-file /tmp/pg.pid)"
#   swift test
#   scripts/pg-test-server.sh stop --pid-file /tmp/pg.pid
set -euo pipefail

die() { echo "pg-test-server: $*" >&2; exit 1; }
. "$(dirname "$0")/lib/test-server.sh"

bin="${PHOTOSEAL_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[ -x "$bin/postgres" ] || die "no PostgreSQL server found (looked in ${bin:-/usr/lib/postgresql/*/bin}); run scripts/install-deps.sh"

command="${1:-}"
[ $# -gt 0 ] && shift
port=0
pid_file="/tmp/photoseal-pg.pid"
user="photoseal"
password=""
watch_pid=""
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="${2:?--port needs a value}"; shift 2 ;;
        --pid-file) pid_file="${2:?--pid-file needs a value}"; shift 2 ;;
        --user) user="${2:?--user needs a value}"; shift 2 ;;
        --password) password="${2:?--password needs a value}"; shift 2 ;;
        --watch-pid) watch_pid="${2:?--watch-pid needs a value}"; shift 2 ;;
        *) die "unknown option $1 (see the comment at the top of this script)" ;;
    esac
done

# Runs a command as the postgres user when we are root (PostgreSQL refuses root).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid postgres --regid postgres --init-groups -- "$@"
    else
        "$@"
    fi
}


case "$command" in
    start)
        [ "$port" = 0 ] && port="$(free_port)"
        [ -n "$password" ] || password="pg-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
        mkdir -p "$(dirname "$pid_file")"
        dir="$(mktemp -d /tmp/photoseal-pg-XXXXXX)"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
        printf '%s\n' "$password" >"$dir/pwfile"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/pwfile"
        chmod 600 "$dir/pwfile"
        if ! as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/pwfile" --auth=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            rm -rf "$dir"
            die "initdb failed"
        fi
        rm -f "$dir/pwfile"
        log="$dir/server.log"
        server=("$bin/postgres")
        [ "$(id -u)" -eq 0 ] && server=(setpriv --reuid postgres --regid postgres --init-groups -- "$bin/postgres")
        # exec all the way down, so that $! is the postmaster itself.
        (close_inherited_fds; cd "$dir"; exec "${server[@]}" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir" -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
            -c logging_collector=off) >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pid_file"
        echo "$dir" >"$pid_file.dir"
        ready=0
        for _ in $(seq 1 600); do
            if PGPASSWORD="$password" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres; then
                ready=1
                break
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ "$ready" != 1 ]; then
            cat "$log" >&2
            kill -INT "$pid" 2>/dev/null || true
            rm -f "$pid_file" "$pid_file.dir"
            rm -rf "$dir"
            die "the server did not start (log above)"
        fi
        PGPASSWORD="$password" "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" photoseal \
            || die "could not create the database photoseal"
        if [ -n "$watch_pid" ]; then
            (close_inherited_fds
             while kill -0 "$watch_pid" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
             kill -INT "$pid" 2>/dev/null || true
             for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
             rm -rf "$dir") >/dev/null 2>&1 </dev/null &
        fi
        echo "postgresql://$user:$password@127.0.0.1:$port/photoseal"
        ;;
    stop)
        [ -f "$pid_file" ] || die "no pid file at $pid_file; nothing to stop"
        pid="$(cat "$pid_file")"
        dir="$(cat "$pid_file.dir" 2>/dev/null || true)"
        # SIGINT: PostgreSQL's fast shutdown (ends sessions, no waiting for clients).
        if kill -INT "$pid" 2>/dev/null; then
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pid_file" "$pid_file.dir"
        case "$dir" in /tmp/photoseal-pg-*) rm -rf "$dir" ;; esac
        ;;
    *)
        die "unknown command ${command:-(none)}; use start or stop"
        ;;
esac
