#!/usr/bin/env bash
# Starts aiosmtpd (PyPI) on loopback for photoseal's mail tests (scripts/smtp_server.py) and
# prints its URL (smtp://127.0.0.1:PORT). Each message received is written to the mailbox
# folder as <n>.eml with its envelope in <n>.json.
#
# Usage:
#   scripts/smtp-test-server.sh install                  create the venv and install aiosmtpd
#   scripts/smtp-test-server.sh start [options]          serve in the background; URL on stdout
#   scripts/smtp-test-server.sh stop [--pid-file F]      stop a server started with `start`
# Options:
#   --port P          loopback port (default: a free one)
#   --pid-file F      where `start` writes the server's pid (default .venv-smtp/server.pid)
#   --mailbox DIR     where messages go (default F.mailbox)
#   --watch-pid PID   the server exits by itself once process PID has ended
# Environment:
#   PHOTOSEAL_SMTP_VENV    the venv (default <repo>/.venv-smtp)
#   PHOTOSEAL_PYTHON313    the Python that makes it (default /root/.pyenv/versions/3.13.0/bin/python3)
#
# Example (CI):
#   export PHOTOSEAL_TEST_SMTP_URL="$(scripts/smtp-test-server.sh start --pid-file /tmp/smtp.pid)"
#   export PHOTOSEAL_TEST_SMTP_MAILBOX=/tmp/smtp.pid.mailbox
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PHOTOSEAL_SMTP_VENV:-$repo/.venv-smtp}"
python313="${PHOTOSEAL_PYTHON313:-/root/.pyenv/versions/3.13.0/bin/python3}"

die() { echo "smtp-test-server: $*" >&2; exit 1; }
. "$(dirname "$0")/lib/test-server.sh"

install() {
    if "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then return 0; fi
    [ -x "$python313" ] || die "Python 3.13 not found at $python313; set PHOTOSEAL_PYTHON313"
    echo "smtp-test-server: installing aiosmtpd into $venv" >&2
    "$python313" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd==1.4.6' >&2
}

command="${1:-start}"
[ $# -gt 0 ] && shift
port=0
pid_file=""
mailbox=""
watch_pid=""
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="${2:?--port needs a value}"; shift 2 ;;
        --pid-file) pid_file="${2:?--pid-file needs a value}"; shift 2 ;;
        --mailbox) mailbox="${2:?--mailbox needs a value}"; shift 2 ;;
        --watch-pid) watch_pid="${2:?--watch-pid needs a value}"; shift 2 ;;
        *) die "unknown option $1 (see the comment at the top of this script)" ;;
    esac
done
pid_file="${pid_file:-$venv/server.pid}"
mailbox="${mailbox:-$pid_file.mailbox}"

case "$command" in
    install)
        install
        ;;
    start)
        install
        mkdir -p "$(dirname "$pid_file")" "$mailbox"
        log="$pid_file.log"
        [ "$port" = 0 ] && port="$(free_port)"
        watch_args=()
        [ -n "$watch_pid" ] && watch_args=(--watch-pid "$watch_pid")
        (
            close_inherited_fds
            exec "$venv/bin/python" "$repo/scripts/smtp_server.py" --port "$port" --mailbox "$mailbox" "${watch_args[@]}"
        ) >"$log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pid_file"
        await_server "$pid" "$pid_file" "$log" 30 port_open "$port"
        echo "smtp://127.0.0.1:$port"
        exit 0
        ;;
    stop)
        stop_server "$pid_file" "$pid_file.log" "$mailbox"
        ;;
    *)
        die "unknown command $command; use install, start or stop"
        ;;
esac
