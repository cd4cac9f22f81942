#!/usr/bin/env bash
# Starts moto's S3 server (PyPI moto[server], run by scripts/moto_server.py) on loopback for photoseal's tests, with
# authentication enforced, and prints its endpoint.
#
# moto checks SigV4 signatures against its own IAM users when INITIAL_NO_AUTH_ACTION_COUNT is
# set: the first N requests pass unsigned. `start` lets exactly the three IAM calls of
# scripts/moto_bootstrap.py through (create a user, give it s3:*, make its access key), so every
# later request must be signed with that key; a wrong secret is refused with
# SignatureDoesNotMatch, an unknown key id with InvalidAccessKeyId.
#
# Usage:
#   scripts/moto-server.sh install                    create the venv and install moto[server]
#   scripts/moto-server.sh start [options]            serve in the background; endpoint on stdout
#   scripts/moto-server.sh stop  [--pid-file F]       stop a server started with `start`
# Options:
#   --port P          loopback port (default: a free one)
#   --pid-file F      where `start` writes the server's pid (default .venv-moto/server.pid); the
#                     user's keys go to F.keys as secrets-file lines (AWS_ACCESS_KEY_ID,
#                     AWS_SECRET_ACCESS_KEY, AWS_REGION, S3_ENDPOINT), mode 0600
#   --watch-pid PID   the server exits by itself once process PID has ended
# Environment:
#   PHOTOSEAL_MOTO_VENV    the venv (default <repo>/.venv-moto)
#   PHOTOSEAL_PYTHON313    the Python that makes it (default /root/.pyenv/versions/3.13.0/bin/python3)
#
# Example (CI):
#   export PHOTOSEAL_TEST_S3_ENDPOINT="$(scripts/moto-server.sh start --pid-file /tmp/moto.pid)"
#   export PHOTOSEAL_TEST_S3_KEYS=/tmp/moto.pid.keys
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PHOTOSEAL_MOTO_VENV:-$repo/.venv-moto}"
python313="${PHOTOSEAL_PYTHON313:-/root/.pyenv/versions/3.13.0/bin/python3}"

die() { echo "moto-server: $*" >&2; exit 1; }
. "$(dirname "$0")/lib/test-server.sh"

install() {
    if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c 'import moto.server, boto3' 2>/dev/null; then
        return 0
    fi
    [ -x "$python313" ] || die "Python 3.13 not found at $python313; set PHOTOSEAL_PYTHON313"
    echo "moto-server: installing moto[server] into $venv" >&2
    "$python313" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.6' 'boto3==1.44.18' >&2
}

command="${1:-start}"
[ $# -gt 0 ] && shift
port=0
pid_file=""
watch_pid=""
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="${2:?--port needs a value}"; shift 2 ;;
        --pid-file) pid_file="${2:?--pid-file needs a value}"; shift 2 ;;
        --watch-pid) watch_pid="${2:?--watch-pid needs a value}"; shift 2 ;;
        *) die "unknown option $1 (see the comment at the top of this script)" ;;
    esac
done
pid_file="${pid_file:-$venv/server.pid}"


case "$command" in
    install)
        install
        ;;
    start)
        install
        mkdir -p "$(dirname "$pid_file")"
        log="$pid_file.log"
        [ "$port" = 0 ] && port="$(free_port)"
        endpoint="http://127.0.0.1:$port"
        watch_args=()
        [ -n "$watch_pid" ] && watch_args=(--watch-pid "$watch_pid")
        (
            close_inherited_fds
            export INITIAL_NO_AUTH_ACTION_COUNT=3
            exec "$venv/bin/python" "$repo/scripts/moto_server.py" --port "$port" "${watch_args[@]}"
        ) >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pid_file"
        await_server "$pid" "$pid_file" "$log" 60 port_open "$port"
        "$venv/bin/python" "$repo/scripts/moto_bootstrap.py" "$endpoint" "$pid_file.keys" >&2 \
            || { kill "$pid" 2>/dev/null; die "could not create the test user (log: $log)"; }
        echo "$endpoint"
        exit 0
        ;;
    stop)
        stop_server "$pid_file" "$pid_file.log" "$pid_file.keys"
        ;;
    *)
        die "unknown command $command; use install, start or stop"
        ;;
esac
