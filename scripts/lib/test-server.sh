# Shared by the test-server scripts (mongo-test-server.sh, moto-server.sh, pg-test-server.sh, slurm-test-server.sh,
# smtp-test-server.sh):
# waiting for a server to start, and stopping it. Sourced; the caller defines die().

# close_inherited_fds: in the subshell that becomes the server, closes every descriptor above 2,
# so the server does not keep the caller's pipes open (a test runner's pipe would then never see
# EOF, nor the script's exit).
close_inherited_fds() {
    local fd
    for fd in /proc/$BASHPID/fd/*; do
        fd="${fd##*/}"
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

# free_port: a loopback port free now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# await_server PID PID_FILE LOG SECONDS READY_COMMAND...: runs READY_COMMAND every 0.1 s until it
# succeeds. Dies (printing the log) if the server exits first, and kills it after SECONDS.
await_server() {
    local pid="$1" pid_file="$2" log="$3" seconds="$4"
    shift 4
    for _ in $(seq 1 $((seconds * 10))); do
        if "$@"; then return 0; fi
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; rm -f "$pid_file"; die "the server exited at startup"; }
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$pid_file"
    die "the server did not start within $seconds s (log: $log)"
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() {
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null
}

# stop_server PID_FILE [PATH...]: stops the server (TERM, then KILL after 10 s) and removes the
# pid file and the PATHs (logs, keys, mailboxes).
stop_server() {
    local pid_file="$1"
    shift
    [ -f "$pid_file" ] || die "no pid file at $pid_file; nothing to stop"
    local pid
    pid="$(cat "$pid_file")"
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$pid_file" "$@"
}
