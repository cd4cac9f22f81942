#!/usr/bin/env bash
# Peak memory of `photoseal download` with large images: COUNT generated JPEGs of MIB MiB each
# (made on the fly by the test image server, never written to disk by it), downloaded at
# CONCURRENCY in flight, stripped mode. Prints the peak RSS (GNU time's %M) and fails when it is
# over LIMIT_MB (default 256). Large bodies spill to an unnamed file and are streamed into the
# store, so the peak should not grow with MIB.
#
# Usage: scripts/bench-download-memory.sh [COUNT] [MIB] [CONCURRENCY]   (defaults 16 190 16)
# PHOTOSEAL_BIN picks the binary (default: a release build); LIMIT_MB the bound.
# Needs about 2 × COUNT × MIB MiB of free disk in TMPDIR (spill files and the stored copies).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-16}"
mib="${2:-190}"
concurrency="${3:-16}"
limit="${LIMIT_MB:-256}"
cd "$repo"
[[ -x /usr/bin/time ]] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
if [[ -z "${PHOTOSEAL_BIN:-}" ]]; then
    swift build -c release --product photoseal >&2
    PHOTOSEAL_BIN="$(swift build -c release --show-bin-path)/photoseal"
fi
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/served"
exec 3< <(python3 Tests/IngestTests/Fixtures/servers/image_server.py --dir "$work/served" --workers 4 & echo "pid $!"; wait)
read -r _ server_pid <&3
read -r port <&3
{
    echo url
    for i in $(seq 1 "$count"); do echo "http://127.0.0.1:$port/big/$mib/photo$i.jpg"; done
} >"$work/urls.csv"
"$PHOTOSEAL_BIN" keys generate --out "$work/keys.env" >/dev/null 2>&1
common=(--workdir "$work/work" --keys "$work/keys.env")
"$PHOTOSEAL_BIN" import "$work/urls.csv" "${common[@]}" >/dev/null 2>&1
/usr/bin/time -f "%M %e" -o "$work/time" \
    "$PHOTOSEAL_BIN" download "${common[@]}" --concurrency "$concurrency" --no-extract 2>"$work/stderr" || {
    cat "$work/stderr" >&2
    exit 1
}
read -r peak_kb seconds <"$work/time"
stored=$(find "$work/work/images" -type f -name '*.jpg' | wc -l)
echo "download of $count x $mib MiB at concurrency $concurrency: peak RSS $((peak_kb / 1024)) MB, ${seconds} s, $stored stored"
tail -1 "$work/stderr" >&2
if ((stored != count)); then
    echo "expected $count stored images" >&2
    exit 1
fi
if ((peak_kb / 1024 > limit)); then
    echo "peak RSS over $limit MB" >&2
    exit 1
fi
