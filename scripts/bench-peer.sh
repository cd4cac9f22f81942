#!/usr/bin/env bash
# photoseal beside img2dataset 1.47, the tool dataset builders use, on the same work: COUNT
# distinct ~200 KB JPEGs served by nginx on loopback (scripts/static-server.sh, images from
# scripts/bench_images.py), a URL list; download, SHA-256, EXIF, files written on disk.
#   photoseal:   `photoseal run urls.csv` (embedded store in the workdir)
#   img2dataset: --output_format files --resize_mode no --disable_all_reencoding True
#                --extract_exif True --compute_hash sha256 --processes_count 2 --thread_count 32
# Both run twice back to back (fresh output folders each time, both on disk), so the second
# round shows what a warm page cache and a file system with the first round's files do.
# Prints images/s (wall clock), CPU seconds (user + system, children included) and peak RSS
# (max RSS from /usr/bin/time -v) side by side, and the ratio of images/s.
#
# Usage: scripts/bench-peer.sh [COUNT]            (default 5000)
#        PHOTOSEAL_BIN=path/to/photoseal scripts/bench-peer.sh ...   (another build, no build step)
#        BENCH_TMPDIR=DIR scripts/bench-peer.sh ...   (where the work files go; default: under the repo's
#                                                       .build, on disk, not a tmpfs /tmp)
#        BENCH_PERF=1 scripts/bench-peer.sh ...       (also records photoseal's first run with `perf record`)
# Makes .venv-peer (gitignored) with img2dataset 1.47.0 from PyPI.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-5000}"
cd "$repo"
. scripts/lib/bench-work.sh
bench_work bench-peer
bench_photoseal
if [[ ! -x .venv-peer/bin/img2dataset ]]; then
    python3 -m venv .venv-peer
    .venv-peer/bin/pip install -q "img2dataset==1.47.0" >&2
fi
[[ -x /usr/bin/time ]] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }

# COUNT distinct JPEGs of ~200 KB with GPS EXIF, served by nginx at /img/<name>; urls.csv.
. scripts/lib/bench-images.sh
serve_bench_images "$work" "$count"
# img2dataset reads a plain text URL list (one URL a line, no header).
tail -n +2 "$work/urls.csv" > "$work/urls.txt"
"$ps" keys generate --out "$work/keys.env" 2>/dev/null >/dev/null

# One measured command: wall seconds, CPU seconds, peak RSS (KB), and a count of files made.
results=()
measure() { # NAME ROUND OUTDIR FILE-PATTERN COMMAND...
    local name="$1" round="$2" out="$3" pattern="$4"
    shift 4
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/log.txt" 2>&1 || { tail -20 "$work/log.txt" >&2; exit 1; }
    end=$(date +%s.%N)
    local seconds rss cpu files
    seconds=$(echo "$end - $start" | bc -l)
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/time.txt")
    files=$(find "$out" -type f -name "$pattern" | wc -l)
    results+=("$name|$round|$seconds|$cpu|$rss|$files")
}

for round in 1 2; do
    sync
    ps_work="$work/ps-$round"
    ps_cmd=("$ps" run "$work/urls.csv" --workdir "$ps_work" --keys "$work/keys.env" --store "embedded:$ps_work/store.sqlite"
        --concurrency 32 --per-host 32)
    if [[ "${BENCH_PERF:-0}" == 1 && $round == 1 ]] && command -v perf >/dev/null; then
        ps_cmd=(perf record -g -o "$work/perf.data" -- "${ps_cmd[@]}")
    fi
    measure photoseal "$round" "$ps_work/images" '*.jpg' "${ps_cmd[@]}"
    if [[ "${BENCH_PERF:-0}" == 1 && $round == 1 && -f "$work/perf.data" ]]; then
        perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep '%' \
            | head -40 > "$repo/.build/bench-peer-perf.txt" || true
        echo "perf profile of photoseal's run: .build/bench-peer-perf.txt" >&2
    fi
    sync
    i2d_out="$work/i2d-$round"
    measure img2dataset "$round" "$i2d_out" '*.jpg' .venv-peer/bin/img2dataset --url_list "$work/urls.txt" \
        --output_folder "$i2d_out" --output_format files --input_format txt --resize_mode no \
        --disable_all_reencoding True --extract_exif True --compute_hash sha256 --processes_count 2 \
        --thread_count 32 --enable_wandb False
done

echo "== $count distinct ~200 KB JPEGs from nginx on loopback: download, SHA-256, EXIF, files on disk ($(df -T "$work" | awk 'NR == 2 {print $2}'))"
printf '%-12s %5s %8s %10s %8s %12s %7s\n' tool round seconds images/s "CPU s" "peak RSS MB" files
for row in "${results[@]}"; do
    IFS='|' read -r name round seconds cpu rss files <<<"$row"
    printf '%-12s %5s %8.2f %10.1f %8.2f %12.1f %7d\n' "$name" "$round" "$seconds" "$(echo "$count / $seconds" | bc -l)" \
        "$cpu" "$(echo "$rss / 1024" | bc -l)" "$files"
done
for round in 1 2; do
    ps_s=$(printf '%s\n' "${results[@]}" | awk -F'|' -v r="$round" '$1 == "photoseal" && $2 == r {print $3}')
    i2d_s=$(printf '%s\n' "${results[@]}" | awk -F'|' -v r="$round" '$1 == "img2dataset" && $2 == r {print $3}')
    printf 'round %s: photoseal %.2fx img2dataset images/s\n' "$round" "$(echo "$i2d_s / $ps_s" | bc -l)"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
