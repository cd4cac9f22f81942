#!/usr/bin/env bash
# The gallery's API against datasette (PyPI) on the same rows, in one run, with wrk (Debian).
#
# Makes N photo documents (default 100,000) shaped as encrypt-load stores them into an embedded
# store (photoseal-bench serve make) and the same rows flattened into one SQLite table for
# datasette (indexed on the filtered and faceted columns). Then, for each server, wrk measures
# the first grid page and the facet counts of a filtered view (country IT, monkey score >= 0.5),
# and prints the p50 and p95 latencies and requests/s. Both servers run on 127.0.0.1 only.
#
# Usage: scripts/bench-serve.sh [N] [seconds per run]
#   env BENCH_BIN: the photoseal-bench binary; BENCH_DATA=DIR: reuse DIR/store.sqlite and
#   DIR/photos.csv made by `photoseal-bench serve make` instead of making them again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${1:-100000}
seconds=${2:-10}
bin=${BENCH_BIN:-}
if [ -z "$bin" ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
  swift build -c release --product photoseal-bench >&2
  bin="$(swift build -c release --show-bin-path)/photoseal-bench"
fi
command -v wrk >/dev/null || { echo "bench-serve: wrk is missing: apt-get install wrk" >&2; exit 1; }
venv="$root/.venv-bench-serve"
if ! "$venv/bin/datasette" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet datasette
fi
work=$(mktemp -d /tmp/photoseal-bench-serve-XXXXXX)
ours_pid="" theirs_pid=""
cleanup() {
  [ -n "$ours_pid" ] && kill "$ours_pid" 2>/dev/null || true
  [ -n "$theirs_pid" ] && kill "$theirs_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${BENCH_DATA:-}" ] && [ -f "$BENCH_DATA/store.sqlite" ]; then
  # Documents made by an earlier run (BENCH_DATA=DIR keeps store.sqlite and photos.csv).
  cp "$BENCH_DATA/store.sqlite" "$BENCH_DATA/photos.csv" "$work/"
else
  echo "bench-serve: making $count documents" >&2
  "$bin" serve make --store "$work/store.sqlite" --csv "$work/photos.csv" --count "$count" >&2
fi
python3 - "$work/photos.csv" "$work/flat.sqlite" <<'PY'
import csv, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("""CREATE TABLE photos (id TEXT PRIMARY KEY, source TEXT, title TEXT, terms TEXT, views INTEGER,
  license TEXT, taken_at TEXT, cc TEXT, country TEXT, city TEXT, lat REAL, lon REAL, status TEXT, width INTEGER,
  score_monkey REAL, score_cat REAL)""")
with open(sys.argv[1], newline="") as f:
    rows = csv.reader(f)
    next(rows)
    db.executemany("INSERT INTO photos VALUES (%s)" % ",".join("?" * 16), rows)
for column in ("cc", "license", "score_monkey", "views"):
    db.execute("CREATE INDEX photos_%s ON photos (%s)" % (column, column))
db.commit()
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
theirs_port=$(free_port)
"$venv/bin/datasette" serve "$work/flat.sqlite" --host 127.0.0.1 --port "$theirs_port" \
  --setting sql_time_limit_ms 20000 --setting facet_time_limit_ms 20000 --setting suggest_facets off \
  >"$work/datasette.log" 2>&1 &
theirs_pid=$!
"$bin" serve run --store "$work/store.sqlite" 2>"$work/ours.log" &
ours_pid=$!
ours=""
for _ in $(seq 600); do
  ours=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/ours.log" | head -1 || true)
  [ -n "$ours" ] && curl -sf "http://127.0.0.1:$theirs_port/-/versions.json" >/dev/null && break
  sleep 0.2
done
theirs="http://127.0.0.1:$theirs_port/flat/photos.json"
[ -n "$ours" ] || { echo "bench-serve: photoseal did not start" >&2; cat "$work/ours.log" >&2; exit 1; }

cat >"$work/p95.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.2f %.2f %.1f %d\n", latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
LUA
# Same rows, same filter and facet: counts are checked equal before timing. datasette's facet
# suggestions are off (photoseal suggests none); it still counts the filtered rows.
ours_grid="$ours/api/photos?limit=60"
theirs_grid="$theirs?_size=60&_sort=id"
ours_facet="$ours/api/facets?cc=IT&score.monkey=0.5&facet=license"
theirs_facet="$theirs?cc=IT&score_monkey__gte=0.5&_facet=license&_size=0"
a=$(curl -s "$ours_facet" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
b=$(curl -s "$theirs_facet" | python3 -c 'import json,sys; print(json.load(sys.stdin)["filtered_table_rows_count"])')
echo "bench-serve: filtered view holds $a photos (photoseal) and $b rows (datasette)" >&2
[ "$a" = "$b" ] || { echo "bench-serve: the two servers disagree on the filtered count" >&2; exit 1; }

run() {
  curl -s -o /dev/null "$2"
  line=$(wrk -t2 -c4 -d"${seconds}s" --timeout 30s -s "$work/p95.lua" "$2" | grep '^RESULT')
  set -- "$1" $line
  printf '%-34s p50 %8.2f ms   p95 %8.2f ms   %8.1f req/s   %s errors\n' "$1" "$3" "$4" "$5" "$6"
  echo "$4" >"$work/p95-$(echo "$1" | tr ' /' '__')"
}
echo "serve benchmark: $count documents, wrk -t2 -c4 -d${seconds}s, one machine"
run "photoseal grid page" "$ours_grid"
run "datasette grid page" "$theirs_grid"
run "photoseal facets (filtered)" "$ours_facet"
run "datasette facet (filtered)" "$theirs_facet"
python3 - "$work" <<'PY'
import glob, os, sys
p = {os.path.basename(f)[4:]: float(open(f).read()) for f in glob.glob(sys.argv[1] + "/p95-*")}
for what in ("grid_page", "facets_(filtered)"):
    ours = p["photoseal_" + what]
    theirs = p.get("datasette_" + what) or p.get("datasette_" + what.replace("facets", "facet"))
    print("%-20s photoseal p95 %.2f ms vs datasette %.2f ms: %s" % (what, ours, theirs, "below" if ours < theirs else "NOT below"))
PY
