#!/usr/bin/env bash
# Starts a MongoDB wire-protocol server for photoseal's tests and prints its URI.
#
# Debian ships no MongoDB server, so this runs mongoeco's wire server (PyPI mongoeco[wire],
# Python 3.13) from a venv, through scripts/mongoeco_server.py (which also works around
# mongoeco 4.11's getMore quirk with libmongoc). If a real `mongod` is on PATH and
# PHOTOSEAL_USE_MONGOD=1, that is used instead.
#
# Usage:
#   scripts/mongo-test-server.sh install                 create the venv and install mongoeco
#   scripts/mongo-test-server.sh run   [options]         serve in the foreground; URI on stdout
#   scripts/mongo-test-server.sh start [options]         serve in the background; URI on stdout
#   scripts/mongo-test-server.sh stop  [--pid-file F]    stop a server started with `start`
# Options:
#   --port P          loopback port (default: a free one)
#   --pid-file F      where `start` writes the server's pid (default .venv-mongo/server.pid)
#   --db-path F       keep data in this SQLite file, so it survives a restart (default: memory)
#   --user U --password P   require SCRAM authentication (auth source admin)
#   --watch-pid PID   the server exits by itself once process PID has ended
# Environment:
#   PHOTOSEAL_MONGO_VENV   the venv (default <repo>/.venv-mongo)
#   PHOTOSEAL_PYTHON313    the Python 3.13 that makes it (default /root/.pyenv/versions/3.13.0/bin/python3)
#
# Example (CI):
#   export PHOTOSEAL_TEST_MONGODB_URI="$(scripts/mongo-test-server.sh start)"
#   swift test
#   scripts/mongo-test-server.sh stop
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PHOTOSEAL_MONGO_VENV:-$repo/.venv-mongo}"
python313="${PHOTOSEAL_PYTHON313:-/root/.pyenv/versions/3.13.0/bin/python3}"
launcher="$repo/scripts/mongoeco_server.py"

die() { echo "mongo-test-server: $*" >&2; exit 1; }
. "$(dirname "$0")/lib/test-server.sh"

install() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import mongoeco.wire.proxy' 2>/dev/null; then
        return 0
    fi
    [ -x "$python313" ] || die "Python 3.13 not found at $python313; set PHOTOSEAL_PYTHON313"
    echo "mongo-test-server: installing mongoeco[wire] into $venv" >&2
    "$python313" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'mongoeco[wire]==4.11.0' >&2
}

command="${1:-run}"
[ $# -gt 0 ] && shift
port=0
pid_file=""
server_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="${2:?--port needs a value}"; shift 2 ;;
        --pid-file) pid_file="${2:?--pid-file needs a value}"; shift 2 ;;
        --db-path|--user|--password|--watch-pid) server_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
        *) die "unknown option $1 (see the comment at the top of this script)" ;;
    esac
done
pid_file="${pid_file:-$venv/server.pid}"

use_mongod() { [ "${PHOTOSEAL_USE_MONGOD:-0}" = 1 ] && command -v mongod >/dev/null; }


case "$command" in
    install)
        install
        ;;
    run)
        if use_mongod; then
            [ "$port" = 0 ] && port="$(free_port)"
            dbpath="$(mktemp -d)"
            echo "mongodb://127.0.0.1:$port/"
            exec mongod --bind_ip 127.0.0.1 --port "$port" --dbpath "$dbpath" --quiet >&2
        fi
        install
        exec "$venv/bin/python" "$launcher" --port "$port" "${server_args[@]}"
        ;;
    start)
        mkdir -p "$(dirname "$pid_file")"
        log="$pid_file.log"
        if use_mongod; then
            [ "$port" = 0 ] && port="$(free_port)"
            dbpath="$(mktemp -d)"
            (close_inherited_fds; exec mongod --bind_ip 127.0.0.1 --port "$port" --dbpath "$dbpath" --quiet) \
                >"$log" 2>&1 </dev/null &
            echo $! >"$pid_file"
            echo "mongodb://127.0.0.1:$port/"
            exit 0
        fi
        install
        (close_inherited_fds; exec "$venv/bin/python" "$launcher" --port "$port" "${server_args[@]}") \
            >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pid_file"
        await_server "$pid" "$pid_file" "$log" 120 grep -q -m1 '^mongodb://' "$log"
        grep -m1 '^mongodb://' "$log"
        exit 0
        ;;
    stop)
        stop_server "$pid_file" "$pid_file.log"
        ;;
    *)
        die "unknown command $command; use install, run, start or stop"
        ;;
esac
