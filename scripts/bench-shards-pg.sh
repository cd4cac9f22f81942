#!/usr/bin/env bash
# Sharding's cost on one machine with a PostgreSQL store and a URL list (scripts/bench-shards.sh:
# the same with a Flickr search and MongoDB): the same photos once as one `photoseal run`, once as
# `photoseal plan --shards 4` and 4 concurrent `photoseal run --shard I/4`, timed side by side.
# The acceptance of issue 19: the 4 shards take no more than 1.15x the time of the one run.
#
# The photos: COUNT distinct ~200 KB JPEGs with GPS EXIF (scripts/bench_images.py) served by
# nginx on loopback (scripts/static-server.sh), as a URL list. Each side loads into a fresh
# PostgreSQL database of its own (scripts/pg-test-server.sh: a shared store is what shards need)
# with the default image mode (stripped) and no scoring. Every side runs with the same per-process
# options (BENCH_RUN_ARGS, default none: each process's own default concurrency).
#
# Usage: scripts/bench-shards-pg.sh [COUNT]            (default 3000)
#        PHOTOSEAL_BIN=path/to/photoseal scripts/bench-shards-pg.sh ...   (another build, no build step)
#        BENCH_RUN_ARGS="--concurrency 16" scripts/bench-shards-pg.sh ...  (more `run` options, both sides)
#        BENCH_TMPDIR=DIR scripts/bench-shards-pg.sh ...  (where the work files go; default under .build)
#
# Measured 2026-12-07 (release build, 3000 photos, the 2-core build machine at load ~25):
#   default concurrency: one run 9.10 s, plan 0.66 s + 4 shards 11.68 s = 12.33 s: 1.36x
#   BENCH_RUN_ARGS="--concurrency 8": one run 7.56 s, plan 0.68 s + 4 shards 6.85 s = 7.54 s: 1.00x
# (4 processes at the default concurrency each contend for 2 cores; give shards a share of it.)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-3000}"
shards=4
cd "$repo"
mkdir -p "$repo/.build"
work="$(mktemp -d -p "${BENCH_TMPDIR:-$repo/.build}" bench-shards.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for f in "$work"/pg-*.pid; do [ -f "$f" ] && scripts/pg-test-server.sh stop --pid-file "$f" >/dev/null 2>&1; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "${PHOTOSEAL_BIN:-}" ]]; then swift build -c release --product photoseal >&2; fi
ps="${PHOTOSEAL_BIN:-.build/release/photoseal}"
# shellcheck disable=SC2206 # split on purpose
run_args=(${BENCH_RUN_ARGS:-})

python3 scripts/bench_images.py "$work/images" --count "$count"
chmod -R a+rX "$work/images"
exec 3< <(exec scripts/static-server.sh "$work/images" 2)
pids+=($!)
read -r port <&3
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -fso /dev/null "$base/img/00000.jpg" && break; sleep 0.1; done
curl -fso /dev/null "$base/img/00000.jpg" || { echo "nginx does not serve the images" >&2; exit 1; }
{ echo url; for ((i = 0; i < count; i++)); do printf '%s/img/%05d.jpg\n' "$base" "$i"; done; } >"$work/urls.csv"
"$ps" keys generate --out "$work/keys.env" >/dev/null 2>&1
one_store="$(scripts/pg-test-server.sh start --pid-file "$work/pg-one.pid")"
shard_store="$(scripts/pg-test-server.sh start --pid-file "$work/pg-shards.pid")"

now() { date +%s.%N; }
sync

# One run.
start=$(now)
"$ps" run "$work/urls.csv" --workdir "$work/one" --keys "$work/keys.env" --store "$one_store" "${run_args[@]}" \
    >"$work/one.log" 2>&1 || { tail -20 "$work/one.log" >&2; exit 1; }
one=$(echo "$(now) - $start" | bc -l)
sync

# The plan, then the shards at once.
start=$(now)
"$ps" plan --shards "$shards" --plan "$work/plan" "$work/urls.csv" --keys "$work/keys.env" --store "$shard_store" \
    >"$work/plan.log" 2>&1 || { tail -20 "$work/plan.log" >&2; exit 1; }
planned=$(now)
shard_pids=()
for ((i = 0; i < shards; i++)); do
    "$ps" run --shard "$i/$shards" --plan "$work/plan" --keys "$work/keys.env" --store "$shard_store" "${run_args[@]}" \
        >"$work/shard-$i.log" 2>&1 &
    shard_pids+=($!)
done
failed=0
for ((i = 0; i < shards; i++)); do
    wait "${shard_pids[$i]}" || { failed=1; echo "shard $i failed:" >&2; tail -20 "$work/shard-$i.log" >&2; }
done
done_at=$(now)
[ "$failed" = 0 ] || exit 1
plan_seconds=$(echo "$planned - $start" | bc -l)
shard_seconds=$(echo "$done_at - $planned" | bc -l)
total=$(echo "$done_at - $start" | bc -l)

# Both stores hold every photo.
count_docs() { psql "$1" -tAc 'SELECT COUNT(*) FROM photos' 2>/dev/null || echo "?"; }
printf '%-34s %10s %10s\n' "" "seconds" "photos/s"
printf '%-34s %10.2f %10.1f\n' "one run" "$one" "$(echo "$count / $one" | bc -l)"
printf '%-34s %10.2f\n' "plan (list $count URLs, 4 files)" "$plan_seconds"
printf '%-34s %10.2f %10.1f\n' "4 shards at once" "$shard_seconds" "$(echo "$count / $shard_seconds" | bc -l)"
printf '%-34s %10.2f %10.1f\n' "plan + 4 shards" "$total" "$(echo "$count / $total" | bc -l)"
printf 'ratio (plan + 4 shards) / one run: %.3f   (4 shards / one run: %.3f; acceptance: <= 1.15)\n' \
    "$(echo "$total / $one" | bc -l)" "$(echo "$shard_seconds / $one" | bc -l)"
printf 'documents: one run %s, shards %s (of %s photos)\n' "$(count_docs "$one_store")" "$(count_docs "$shard_store")" "$count"
