#!/usr/bin/env bash
# The gallery in a real browser: Debian's chromium and chromium-driver driven by Selenium (PyPI,
# in .venv-browser). Builds a workdir through the real pipeline (import of the fixture photos,
# extract, score against the local Vision fixture server, encrypt-load into the embedded store),
# starts `photoseal serve` on a free loopback port and runs Tests/Browser/gallery_browser_test.py:
# grid thumbnails, a country and a score filter narrowing counts and grid, the photo view with
# the arrow keys and Esc, the table, map clusters over basemap tiles (serve --tiles, a file made
# by scripts/make-mbtiles.py) and a click on one, and the request form
# (serve --form): a refused request, then one recorded as a job. Every request the browser
# makes must stay on 127.0.0.1. Screenshots go to .ci-artifacts/serve/ (gitignored).
#
# Usage: scripts/browser-test.sh [path/to/photoseal]   (default: .build/debug/photoseal)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
binary="${1:-$root/.build/debug/photoseal}"
for tool in chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "browser-test: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
venv="$root/.venv-browser"
if ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet selenium
fi
work=$(mktemp -d /tmp/photoseal-browser-XXXXXX)
vision_pid="" serve_pid="" feeder_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  [ -n "$feeder_pid" ] && kill "$feeder_pid" 2>/dev/null || true
  [ -n "$vision_pid" ] && kill "$vision_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The Vision stand-in; it exits when its stdin (fed by a sleep we own) closes.
mkfifo "$work/vision.in"
sleep 100000 >"$work/vision.in" &
feeder_pid=$!
python3 Tests/IngestTests/Fixtures/servers/vision_server.py --api-key test-vision-key --watch-stdin \
  <"$work/vision.in" >"$work/vision.port" 2>"$work/vision.log" &
vision_pid=$!
for _ in $(seq 100); do [ -s "$work/vision.port" ] && break; sleep 0.1; done
vision_port=$(head -1 "$work/vision.port")

"$binary" keys generate --out "$work/keys.env" 2>/dev/null
echo "GOOGLE_VISION_API_KEY=test-vision-key" >>"$work/keys.env"
mkdir "$work/photos"
cp Tests/IngestTests/Fixtures/images/es_*.jpg Tests/IngestTests/Fixtures/images/et_Canon.jpg "$work/photos/"
common=(--workdir "$work/work" --keys "$work/keys.env")
"$binary" import "$work/photos" "${common[@]}" 2>>"$work/pipeline.log"
"$binary" extract "${common[@]}" 2>>"$work/pipeline.log"
"$binary" score "${common[@]}" --vision-endpoint "http://127.0.0.1:$vision_port/v1/images:annotate" \
  --label Animal --label Plant --label Sky --label Building --label Water --label Tree >/dev/null 2>>"$work/pipeline.log"
"$binary" encrypt-load "${common[@]}" 2>>"$work/pipeline.log"

# A basemap over the photos' area (Arezzo) and around it, zooms 0-6 (the map fits the clusters at
# zoom 6 at most); its attribution holds markup that must show as text, not load an image.
python3 scripts/make-mbtiles.py "$work/basemap.mbtiles" --zooms 0-6 --bbox 1,35,25,50 --margin 1 --schema view \
  --attribution '<a href="/attribution-link">© photoseal test tiles</a><img src="/attribution-image">' >/dev/null

# --form: the request form is tested too (jobs are only recorded here; nothing is uploaded).
"$binary" serve "${common[@]}" --port 0 --form s3://browser-test/requests --tiles "$work/basemap.mbtiles" \
  2>"$work/serve.log" &
serve_pid=$!
url=""
for _ in $(seq 200); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$work/serve.log" | head -1 || true)
  [ -n "$url" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "browser-test: serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
mkdir -p .ci-artifacts/serve
"$venv/bin/python" Tests/Browser/gallery_browser_test.py "$url" .ci-artifacts/serve
if grep -q "browser.test@example.org" "$work/serve.log"; then
  echo "browser-test: the form's address is in serve's log" >&2
  exit 1
fi
