#!/usr/bin/env bash
# A fast static file server for the benchmarks: nginx (Debian's nginx-light, installed if
# missing) serving DIR on 127.0.0.1, so the server is not what a benchmark measures. Prints the
# port on its first line of stdout, then runs nginx in the foreground until it is sent SIGTERM.
# No root needed: every path nginx writes lives in a temporary directory removed on exit.
#
# Usage: scripts/static-server.sh DIR [WORKERS]     (WORKERS defaults to 1)
# Files are served at http://127.0.0.1:PORT/img/<name>, the same paths as the image test server.
set -euo pipefail
dir="$(cd "${1:?usage: static-server.sh DIR [WORKERS]}" && pwd)"
workers="${2:-1}"
if ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
    echo "static-server: installing nginx-light (Debian) for the benchmark server" >&2
    if [[ $(id -u) -eq 0 ]]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq nginx-light >&2
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
run="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$run/tmp"
# Workers run as the caller (nginx would drop to "nobody" under root and then could not read a
# private temporary directory).
user_line=""
if [[ $(id -u) -eq 0 ]]; then user_line="user root;"; fi
cat > "$run/nginx.conf" <<CONF
$user_line
daemon off;
master_process on;
worker_processes $workers;
pid $run/nginx.pid;
error_log $run/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $run/tmp/body;
    proxy_temp_path $run/tmp/proxy;
    fastcgi_temp_path $run/tmp/fastcgi;
    uwsgi_temp_path $run/tmp/uwsgi;
    scgi_temp_path $run/tmp/scgi;
    types { image/jpeg jpg jpeg; image/png png; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$port;
        location /img/ { alias $dir/; }
    }
}
CONF
cleanup() { rm -rf "$run"; }
trap cleanup EXIT
echo "$port"
"$nginx_bin" -p "$run" -e "$run/error.log" -c "$run/nginx.conf" &
nginx_pid=$!
trap 'kill -TERM "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null; cleanup; exit 0' TERM INT
wait "$nginx_pid"
