#!/usr/bin/env bash
# One `photoseal run` against `photoseal plan` + N concurrent `photoseal run --shard I/N` over the
# same COUNT photos (the local Flickr server, nginx serving ~200 KB JPEGs), each into its own
# database of one MongoDB store (PHOTOSEAL_BENCH_MONGODB_URI, default: a mongoeco server started
# here). Prints both wall-clock times and their ratio (the issue's target: N shards within 1.15x).
#
# Usage: scripts/bench-shards.sh [count=2000] [shards=4]   (PHOTOSEAL_BIN: the binary to time,
# default: a release build)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-2000}"
shards="${2:-4}"
cd "$repo"
. scripts/lib/bench-work.sh
. scripts/lib/bench-images.sh
bench_work bench-shards "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}"
# The mongoeco server this script started, if any, stops with it.
bench_extra_cleanup() {
    if [[ -f "$work/mongo.pid" ]]; then scripts/mongo-test-server.sh stop --pid-file "$work/mongo.pid" >/dev/null || true; fi
}
bench_photoseal
mongo="${PHOTOSEAL_BENCH_MONGODB_URI:-}"
if [[ -z "$mongo" ]]; then mongo="$(scripts/mongo-test-server.sh start --pid-file "$work/mongo.pid")"; fi
mongo="${mongo%/}"

serve_flickr_bench "$work" "$count"

"$ps" keys generate --out "$work/keys.env" >/dev/null 2>&1
echo "FLICKR_API_KEY=test-api-key-0123456789" >> "$work/keys.env"
search=(--term monkey --flickr-endpoint "$endpoint" --rate-per-hour 100000000)
now() { date +%s.%N; }

start=$(now)
"$ps" run "${search[@]}" --workdir "$work/one" --keys "$work/keys.env" --store "$mongo/bench_one" --progress none \
    2> "$work/one.log" || { cat "$work/one.log" >&2; exit 1; }
one=$(echo "$(now) - $start" | bc -l)

start=$(now)
"$ps" plan --shards "$shards" --plan "$work/plan" "${search[@]}" --keys "$work/keys.env" --store "$mongo/bench_shards" \
    --progress none 2> "$work/plan.log" || { cat "$work/plan.log" >&2; exit 1; }
planned=$(now)
for i in $(seq 0 $((shards - 1))); do
    "$ps" run --shard "$i/$shards" --plan "$work/plan" --keys "$work/keys.env" --progress none 2> "$work/shard$i.log" &
    workers+=($!)
done
for pid in "${workers[@]}"; do wait "$pid" || { cat "$work"/shard*.log >&2; exit 1; }; done
end=$(now)
plan_s=$(echo "$planned - $start" | bc -l)
sharded=$(echo "$end - $start" | bc -l)

echo "== $count photos: one run against plan + $shards concurrent shards, MongoDB store, local servers"
printf 'one run                       %8.2f s\n' "$one"
printf 'plan + %2d shards              %8.2f s  (plan %.2f s, shards %.2f s)\n' "$shards" "$sharded" "$plan_s" \
    "$(echo "$sharded - $plan_s" | bc -l)"
printf 'ratio sharded/one: %.2fx (target at most 1.15x)\n' "$(echo "$sharded / $one" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
