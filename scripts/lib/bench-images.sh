# Shared by the benchmark scripts: COUNT distinct JPEGs (scripts/bench_images.py) served
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

# serve_flickr_bench WORK COUNT: the local Flickr server with COUNT photos, all matching the
# term `monkey` and all available, whose image URLs point at nginx serving WORK/images, where
# COUNT distinct ~200 KB JPEGs with GPS EXIF are written named <photo id>.jpg (both pids appended
# to `pids`). Waits until nginx answers. Sets `endpoint` (the Flickr REST endpoint),
# `flickr_port` and `image_port`.
serve_flickr_bench() {
    local work="$1" count="$2"
    mkdir -p "$work/images"
    exec 4< <(exec scripts/static-server.sh "$work/images")
    pids+=($!)
    read -r image_port <&4
    exec 3< <(exec python3 Tests/IngestTests/Fixtures/servers/flickr_server.py --photos "$count" --all-terms \
        --all-available --per-second 100000 --per-hour 100000000 --image-server "http://127.0.0.1:$image_port")
    pids+=($!)
    read -r flickr_port <&3
    endpoint="http://127.0.0.1:$flickr_port/services/rest/"
    python3 scripts/bench_images.py "$work/images" $(python3 -c '
import json, sys, urllib.request
print(" ".join(i + ".jpg" for i in sorted(json.load(urllib.request.urlopen(sys.argv[1] + "/__truth?term=monkey"))["photos"])))
' "http://127.0.0.1:$flickr_port")
    chmod -R a+rX "$work/images"
    du -sh "$work/images" | sed 's/^/image set: /' >&2
    local probe
    probe="$(find "$work/images" -name "*.jpg" -printf "%f\n" -quit)"
    for _ in $(seq 50); do curl -fso /dev/null "http://127.0.0.1:$image_port/img/$probe" && break; sleep 0.1; done
    curl -fso /dev/null "http://127.0.0.1:$image_port/img/$probe" || { echo "nginx does not serve the images" >&2; exit 1; }
}
