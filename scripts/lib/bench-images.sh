# Shared by bench-peer.sh and bench-rss.sh: COUNT distinct JPEGs (scripts/bench_images.py) served
# by nginx on loopback (scripts/static-server.sh), and the URL list of them. Sourced from the
# repository's root; the caller has a `pids` array whose processes it kills on exit.

# serve_bench_images WORK COUNT [--small]: writes WORK/images/00000.jpg … (~200 KB each, ~4 KB
# with --small), serves them at http://127.0.0.1:PORT/img/<name> (nginx's pid appended to
# `pids`), waits until nginx answers, and writes WORK/urls.csv (a `url` header, one URL a line).
# Sets `bench_base` to http://127.0.0.1:PORT.
serve_bench_images() {
    local work="$1" count="$2" small="${3:-}"
    python3 scripts/bench_images.py "$work/images" $small --count "$count"
    chmod -R a+rX "$work/images"
    du -sh "$work/images" | sed 's/^/image set: /' >&2
    exec 3< <(exec scripts/static-server.sh "$work/images")
    pids+=($!)
    local port
    read -r port <&3
    bench_base="http://127.0.0.1:$port"
    for _ in $(seq 50); do curl -fso /dev/null "$bench_base/img/00000.jpg" && break; sleep 0.1; done
    curl -fso /dev/null "$bench_base/img/00000.jpg" || { echo "nginx does not serve the images" >&2; exit 1; }
    { echo url; for ((i = 0; i < count; i++)); do printf '%s/img/%05d.jpg\n' "$bench_base" "$i"; done; } > "$work/urls.csv"
}
