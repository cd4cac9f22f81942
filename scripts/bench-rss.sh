#!/usr/bin/env bash
# Does photoseal's memory stay flat however many photos a run has? Serves LARGE distinct ~4 KB
# JPEGs with nginx (scripts/lib/bench-images.sh), runs `photoseal run urls.csv` (embedded store,
# --concurrency 32 --per-host 32, as bench-peer.sh) on the first SMALL of them and then on all
# LARGE, each in a fresh workdir, and prints each run's peak RSS (GNU time's %M), seconds and CPU
# seconds side by side, and the ratio of the peaks. Issue 15 asks for a ratio within 1.10.
# Small images keep the image set and the run short; the per-photo state is what is measured.
#
# Usage: scripts/bench-rss.sh [SMALL] [LARGE]                   (defaults 2000 20000)
#        PHOTOSEAL_BIN=path/to/photoseal scripts/bench-rss.sh   (another build, no build step)
#        BENCH_TMPDIR=DIR                                      (work files; default under .build)
#        BENCH_TRACE=1   also prints each run's RSS every second (from /proc/PID/status), to see
#                        when it grows
# Exits 1 when the larger run's peak is more than 10 % above the smaller's.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
small="${1:-2000}"
large="${2:-20000}"
cd "$repo"
. scripts/lib/bench-work.sh
bench_work bench-rss
bench_photoseal
[[ -x /usr/bin/time ]] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }

. scripts/lib/bench-images.sh
serve_bench_images "$work" "$large" --small
"$ps" keys generate --out "$work/keys.env" 2>/dev/null >/dev/null

rows=()
for count in "$small" "$large"; do
    head -n $((count + 1)) "$work/urls.csv" > "$work/urls-$count.csv"
    ps_work="$work/ps-$count"
    sync
    /usr/bin/time -f '%M %e %U %S' -o "$work/time-$count" "$ps" run "$work/urls-$count.csv" --workdir "$ps_work" \
        --keys "$work/keys.env" --store "embedded:$ps_work/store.sqlite" --concurrency 32 --per-host 32 \
        > "$work/log-$count" 2>&1 &
    timer=$!
    if [[ "${BENCH_TRACE:-0}" == 1 ]]; then
        trace=()
        while kill -0 "$timer" 2>/dev/null; do
            child="$(pgrep -P "$timer" || true)"
            if [[ -n "$child" ]]; then
                trace+=("$(awk '/VmRSS/ {printf "%d", $2 / 1024}' "/proc/$child/status" 2>/dev/null || true)")
            fi
            sleep 1
        done
        echo "RSS MB each second, $count photos: ${trace[*]}" >&2
    fi
    wait "$timer" || { tail -20 "$work/log-$count" >&2; exit 1; }
    read -r rss seconds user sys < "$work/time-$count"
    loaded=$(grep -o 'loaded [0-9]*' "$work/log-$count" | tail -1 | awk '{print $2}')
    rows+=("$count|$seconds|$(echo "$user + $sys" | bc -l)|$rss|${loaded:-?}")
    rm -rf "$ps_work"
done

echo "== photoseal run: distinct ~4 KB JPEGs from nginx on loopback, embedded store, fresh workdirs"
printf '%8s %8s %10s %8s %12s %8s\n' photos seconds images/s "CPU s" "peak RSS MB" loaded
for row in "${rows[@]}"; do
    IFS='|' read -r count seconds cpu rss loaded <<<"$row"
    printf '%8d %8.2f %10.1f %8.2f %12.1f %8s\n' "$count" "$seconds" "$(echo "$count / $seconds" | bc -l)" "$cpu" \
        "$(echo "$rss / 1024" | bc -l)" "$loaded"
done
small_rss=$(cut -d'|' -f4 <<<"${rows[0]}")
large_rss=$(cut -d'|' -f4 <<<"${rows[1]}")
ratio=$(echo "$large_rss / $small_rss" | bc -l)
printf 'peak RSS %d photos / %d photos: %.3f (flat within 10%%: %s)\n' "$large" "$small" "$ratio" \
    "$(if (($(echo "$ratio <= 1.10" | bc -l))); then echo yes; else echo no; fi)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
(($(echo "$ratio <= 1.10" | bc -l)))
