#!/usr/bin/env bash
# The whole pipeline, search -> download -> extract -> seal -> load (embedded store), for COUNT
# photos from local servers on loopback: photoseal beside a Python baseline doing the same work
# (scripts/bench_pipeline_baseline.py: requests + ThreadPoolExecutor(32), exifread,
# reverse_geocoder, cryptography's Fernet, sqlite3), in one run. Prints images/s (wall clock),
# CPU seconds and peak memory (max RSS from /usr/bin/time -v) for both, and the ratios.
#
# Usage: scripts/bench-pipeline.sh [COUNT] [CONCURRENCY]     (defaults 2000 photos, 32)
#        PHOTOSEAL_BIN=path/to/photoseal scripts/bench-pipeline.sh ...   (another build, no build step)
#        BENCH_MODE=stages scripts/bench-pipeline.sh ...   (the four stage commands even when `run` exists)
#        BENCH_TMPDIR=/dev/shm scripts/bench-pipeline.sh ...  (work files on tmpfs; see docs/pipeline-bench.md)
# Servers: the Flickr test server (Tests/IngestTests/Fixtures/servers/flickr_server.py with
# --all-terms --all-available --image-server: every photo matches the term, images on nginx) and
# nginx (scripts/static-server.sh) serving COUNT distinct ~200 KB JPEGs with GPS EXIF from a
# temporary directory. photoseal runs `photoseal run` when it exists, else the stage commands
# in a chain. Makes .venv-bench (gitignored) with requests, exifread and reverse_geocoder.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-2000}"
concurrency="${2:-32}"
cd "$repo"
. scripts/lib/bench-work.sh
bench_work bench-pipeline "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}"
# PHOTOSEAL_BIN=path runs another photoseal binary (no build).
bench_photoseal
if [[ ! -x .venv-bench/bin/python ]] || ! .venv-bench/bin/python -c "import requests, exifread, reverse_geocoder, cryptography" 2>/dev/null; then
    python3 -m venv --system-site-packages .venv-bench
    .venv-bench/bin/pip install -q requests exifread reverse_geocoder >&2
    .venv-bench/bin/python -c "import cryptography" 2>/dev/null || .venv-bench/bin/pip install -q cryptography >&2
fi
[[ -x /usr/bin/time ]] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }

# Images: nginx (scripts/static-server.sh, Debian's nginx-light, installed if missing) serving
# the image folder at /img/<name>, fast enough not to be what is measured; the Flickr test
# server: COUNT photos, all matching the term, image URLs on nginx.
. scripts/lib/bench-images.sh
serve_flickr_bench "$work" "$count"
api_key=test-api-key-0123456789

# photoseal: a fresh secrets file (the baseline seals with the same key), workdir and store.
ps="${PHOTOSEAL_BIN:-.build/release/photoseal}"
"$ps" keys generate --out "$work/keys.env" 2>/dev/null >/dev/null
echo "FLICKR_API_KEY=$api_key" >> "$work/keys.env"
common=(--workdir "$work/ps" --keys "$work/keys.env")
store="embedded:$work/ps/store.sqlite"
search=(--term monkey --flickr-endpoint "$endpoint" --rate-per-hour 100000000)
# Each stage (or `run`) under its own /usr/bin/time too: wall, user, system seconds and max RSS
# per stage, to see where the time goes.
timed() { echo "/usr/bin/time -a -o '$work/stages' -f '$1 %e %U %S %M'"; }
if [[ "${BENCH_MODE:-auto}" != stages ]] && "$ps" run --help 2>/dev/null | grep -q "USAGE: photoseal run"; then
    mode="photoseal run"
    run_help="$("$ps" run --help 2>&1)"
    extra=()
    for flag in --per-host --download-concurrency; do
        if grep -q -- "$flag" <<<"$run_help"; then extra+=("$flag" "$concurrency"); fi
    done
    if ! grep -q -- "--download-concurrency" <<<"$run_help" && grep -q -- "--concurrency" <<<"$run_help"; then
        extra+=(--concurrency "$concurrency")
    fi
    chain="set -e; $(timed run) '$ps' run ${common[*]@Q} ${search[*]@Q} --store '$store' ${extra[*]@Q}"
else
    mode="photoseal search, download, extract, encrypt-load"
    chain="set -e
        $(timed search) '$ps' search ${common[*]@Q} ${search[*]@Q}
        $(timed download) '$ps' download ${common[*]@Q} --concurrency $concurrency --per-host $concurrency
        $(timed extract) '$ps' extract ${common[*]@Q}
        $(timed encrypt-load) '$ps' encrypt-load ${common[*]@Q} --store '$store'"
fi
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/ps-time.txt" bash -c "$chain" 2> "$work/ps-log.txt" || { cat "$work/ps-log.txt" >&2; exit 1; }
end=$(date +%s.%N)
ps_seconds=$(echo "$end - $start" | bc -l)
grep -E '^photoseal: (search|download|extract|encrypt-load|run)' "$work/ps-log.txt" | sed 's/^/  /' >&2
awk '{printf "  photoseal %-13s %6.2f s wall, %6.2f s CPU (user %.2f + sys %.2f), max RSS %.1f MB\n", $1, $2, $3 + $4, $3, $4, $5 / 1024}' \
    "$work/stages" >&2
ps_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/ps-time.txt")
ps_cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/ps-time.txt")
ps_loaded=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM documents").fetchone()[0])' "$work/ps/store.sqlite")

# The Python baseline: the same search, images and key.
mkdir -p "$work/py"
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/py-time.txt" .venv-bench/bin/python scripts/bench_pipeline_baseline.py \
    "$endpoint" "$api_key" monkey "$work/keys.env" "$work/py" 2> "$work/py-log.txt" || { cat "$work/py-log.txt" >&2; exit 1; }
end=$(date +%s.%N)
py_seconds=$(echo "$end - $start" | bc -l)
grep '^python:' "$work/py-log.txt" | sed 's/^/  /' >&2
py_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/py-time.txt")
py_cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/py-time.txt")
py_loaded=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM documents").fetchone()[0])' "$work/py/store.sqlite")

echo "== pipeline: search -> download -> extract -> seal -> load (embedded store), $count photos of ~200 KB, local servers on loopback"
printf '%-58s %8s %10s %8s %12s %7s\n' "tool" "seconds" "images/s" "CPU s" "peak RSS MB" "loaded"
printf '%-58s %8.2f %10.1f %8.2f %12.1f %7d\n' "$mode" \
    "$ps_seconds" "$(echo "$count / $ps_seconds" | bc -l)" "$ps_cpu" "$(echo "$ps_rss / 1024" | bc -l)" "$ps_loaded"
printf '%-58s %8.2f %10.1f %8.2f %12.1f %7d\n' "python requests+TPE(32)+exifread+rgeocoder+Fernet+sqlite3" \
    "$py_seconds" "$(echo "$count / $py_seconds" | bc -l)" "$py_cpu" "$(echo "$py_rss / 1024" | bc -l)" "$py_loaded"
printf 'ratio photoseal/python: %.2fx images/s (wall clock), %.2fx less CPU time, %.2fx less peak memory\n' \
    "$(echo "$py_seconds / $ps_seconds" | bc -l)" "$(echo "$py_cpu / $ps_cpu" | bc -l)" "$(echo "$py_rss / $ps_rss" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
