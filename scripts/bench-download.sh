#!/usr/bin/env bash
# Download + extract throughput: photoseal (import URL list, download, extract) beside a Python
# baseline (requests + ThreadPoolExecutor(32) + exifread + reverse_geocoder) doing the same
# work against the same local image server on loopback, in one run. Prints images/s and peak
# memory (max RSS from /usr/bin/time -v) for both.
#
# Usage: scripts/bench-download.sh [COUNT] [CONCURRENCY]     (defaults 2000 images, 32)
# Makes .venv-bench (gitignored) with requests, exifread and reverse_geocoder from PyPI.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-2000}"
concurrency="${2:-32}"
cd "$repo"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

swift build -c release --product photoseal >&2
if [[ ! -x .venv-bench/bin/python ]] || ! .venv-bench/bin/python -c "import requests, exifread, reverse_geocoder" 2>/dev/null; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -q requests exifread reverse_geocoder >&2
fi
[[ -x /usr/bin/time ]] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }

# COUNT distinct JPEGs of ~200 KB with GPS EXIF (scripts/bench_images.py).
python3 scripts/bench_images.py "$work/images" --count "$count"
du -sh "$work/images" | sed 's/^/image set: /' >&2

# The server: nginx (scripts/static-server.sh) so that the server's own CPU time is small and
# both tools are measured, not the server. BENCH_SERVER=python uses the test suite's image
# server instead (single Python process; it becomes the bottleneck for the faster tool).
if [[ "${BENCH_SERVER:-nginx}" == python ]]; then
    exec 3< <(python3 Tests/IngestTests/Fixtures/servers/image_server.py --dir "$work/images" --workers 2)
    server_name="python image_server.py"
else
    exec 3< <(scripts/static-server.sh "$work/images")
    server_name="nginx $(nginx -v 2>&1 | sed 's|.*/||')"
fi
server_pid=$!
read -r port <&3
base="http://127.0.0.1:$port"
{ echo url; for ((i = 0; i < count; i++)); do printf '%s/img/%05d.jpg\n' "$base" "$i"; done; } > "$work/urls.csv"

# photoseal: a fresh secrets file and ledger; import queues the URLs, then download + extract.
ps=.build/release/photoseal
"$ps" keys generate --out "$work/keys.env" >/dev/null
"$ps" import "$work/urls.csv" --workdir "$work/ps" --keys "$work/keys.env" 2>/dev/null
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/ps-time.txt" bash -c \
    "'$ps' download --workdir '$work/ps' --keys '$work/keys.env' --concurrency $concurrency --per-host $concurrency \
     && '$ps' extract --workdir '$work/ps' --keys '$work/keys.env'" 2> "$work/ps-log.txt" || { cat "$work/ps-log.txt" >&2; exit 1; }
end=$(date +%s.%N)
ps_seconds=$(echo "$end - $start" | bc -l)
grep -E '^photoseal: (download|extract):' "$work/ps-log.txt" | sed 's/^/  /' >&2
ps_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/ps-time.txt")
ps_cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/ps-time.txt")
ps_files=$(find "$work/ps/images" -type f | wc -l)

# Python baseline: the same URLs, hash, verify, store, EXIF, then reverse-geocode positions.
cat > "$work/baseline.py" <<'PY'
import hashlib, io, os, sys, threading
from concurrent.futures import ThreadPoolExecutor
import exifread, requests, reverse_geocoder

urls = [l.strip() for l in open(sys.argv[1]).read().splitlines()[1:] if l.strip()]
out = sys.argv[2]
local = threading.local()

def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s

def ratio(v):
    return float(v.num) / float(v.den) if v.den else 0.0

def dms(values, ref):
    d = ratio(values[0]) + ratio(values[1]) / 60 + ratio(values[2]) / 3600
    return -d if str(ref) in ("S", "W") else d

def work(url):
    for attempt in range(5):
        r = session().get(url, timeout=30)
        if r.status_code == 200 and len(r.content) == int(r.headers.get("Content-Length", len(r.content))):
            break
    body = r.content
    if body[:3] != b"\xff\xd8\xff":
        return None
    sha = hashlib.sha256(body).hexdigest()
    folder = os.path.join(out, sha[:2])
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, sha + ".part")
    with open(tmp, "wb") as f:
        f.write(body)
    os.replace(tmp, os.path.join(folder, sha + ".jpg"))
    tags = exifread.process_file(io.BytesIO(body), details=False)
    if "GPS GPSLatitude" in tags:
        return (dms(tags["GPS GPSLatitude"].values, tags.get("GPS GPSLatitudeRef")),
                dms(tags["GPS GPSLongitude"].values, tags.get("GPS GPSLongitudeRef")))
    return None

with ThreadPoolExecutor(32) as pool:
    coords = [c for c in pool.map(work, urls) if c]
places = reverse_geocoder.search(coords, mode=1, verbose=False) if coords else []
print(f"python: {len(urls)} images, {len(coords)} with GPS, {len(places)} places", file=sys.stderr)
PY
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/py-time.txt" .venv-bench/bin/python "$work/baseline.py" "$work/urls.csv" "$work/py" \
    2> "$work/py-log.txt" || { cat "$work/py-log.txt" >&2; exit 1; }
end=$(date +%s.%N)
py_seconds=$(echo "$end - $start" | bc -l)
sed 's/^/  /' "$work/py-log.txt" >&2
py_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/py-time.txt")
py_cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/py-time.txt")
py_files=$(find "$work/py" -type f | wc -l)

echo "== download + EXIF + geocode, $count images of ~200 KB from a local server on loopback ($server_name)"
printf '%-54s %8s %10s %8s %12s %6s\n' "tool" "seconds" "images/s" "CPU s" "peak RSS MB" "files"
printf '%-54s %8.2f %10.1f %8.2f %12.1f %6d\n' "photoseal download+extract (--concurrency $concurrency)" \
    "$ps_seconds" "$(echo "$count / $ps_seconds" | bc -l)" "$ps_cpu" "$(echo "$ps_rss / 1024" | bc -l)" "$ps_files"
printf '%-54s %8.2f %10.1f %8.2f %12.1f %6d\n' "python requests+TPE(32)+exifread+reverse_geocoder" \
    "$py_seconds" "$(echo "$count / $py_seconds" | bc -l)" "$py_cpu" "$(echo "$py_rss / 1024" | bc -l)" "$py_files"
printf 'speed-up: %.2fx wall clock, %.2fx CPU time (load average: %s)\n' "$(echo "$py_seconds / $ps_seconds" | bc -l)" \
    "$(echo "$py_cpu / $ps_cpu" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
