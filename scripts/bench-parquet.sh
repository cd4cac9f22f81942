#!/usr/bin/env bash
# `photoseal export --format parquet` at scale: fills a workdir's ledger with COUNT varied
# documents (photoseal-bench ledger), exports them as Parquet and as JSON lines (time, peak
# memory, size), then has pyarrow and DuckDB read the Parquet file and compare it, row by row
# and field by field, to the JSON lines (scripts/parquet_check.py compare).
#
# Usage: scripts/bench-parquet.sh [COUNT]     (default 100000; the acceptance of issue #19)
# Environment: PHOTOSEAL_BENCH_CONFIG=debug uses a debug build (quicker to build, slower to run).
# Needs the venv of scripts/install-deps.sh (.venv-parquet, or PHOTOSEAL_PARQUET_VENV).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-100000}"
config="${PHOTOSEAL_BENCH_CONFIG:-release}"
venv="${PHOTOSEAL_PARQUET_VENV:-$repo/.venv-parquet}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$repo"
swift build -c "$config" --product photoseal >&2
swift build -c "$config" --product photoseal-bench >&2
bin=".build/$config"
echo "== export --format parquet, $count documents ($config build, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
"$bin/photoseal-bench" ledger --workdir "$scratch/work" --count "$count"
measure() {
    local name=$1 out=$2
    shift 2
    /usr/bin/time -f "%e %M" -o "$scratch/time" "$bin/photoseal" export --workdir "$scratch/work" "$@" 2>"$scratch/err" || {
        cat "$scratch/err" >&2
        exit 1
    }
    read -r seconds kb <"$scratch/time"
    printf '%-8s %6.2f s  peak RSS %5.1f MB  %6.1f MB  (%s)\n' "$name" "$seconds" "$(echo "$kb / 1024" | bc -l)" \
        "$(echo "$(stat -c %s "$out") / 1048576" | bc -l)" "$(tail -1 "$scratch/err")"
}
measure parquet "$scratch/photos.parquet" --format parquet --out "$scratch/photos.parquet"
/usr/bin/time -f "%e %M" -o "$scratch/time" "$bin/photoseal" export --workdir "$scratch/work" --format jsonl \
    >"$scratch/photos.jsonl" 2>"$scratch/err"
read -r seconds kb <"$scratch/time"
printf '%-8s %6.2f s  peak RSS %5.1f MB  %6.1f MB  (%s)\n' jsonl "$seconds" "$(echo "$kb / 1024" | bc -l)" \
    "$(echo "$(stat -c %s "$scratch/photos.jsonl") / 1048576" | bc -l)" "$(tail -1 "$scratch/err")"
start=$(date +%s.%N)
"$venv/bin/python" scripts/parquet_check.py compare "$scratch/photos.parquet" "$scratch/photos.jsonl"
printf 'compare  %6.2f s (both readers, Python)\n' "$(echo "$(date +%s.%N) - $start" | bc -l)"
"$venv/bin/python" - "$scratch/photos.parquet" <<'PY'
import sys
import pyarrow.parquet as pq
meta = pq.ParquetFile(sys.argv[1]).metadata
encodings = sorted({e for g in range(meta.num_row_groups) for c in range(meta.row_group(g).num_columns)
                    for e in meta.row_group(g).column(c).encodings})
print(f"parquet: {meta.num_rows} rows, {meta.num_row_groups} row groups, {meta.num_columns} leaf columns, "
      f"encodings {', '.join(encodings)}")
PY
