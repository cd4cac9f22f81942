#!/usr/bin/env bash
# Fuzz the EXIF reader with libFuzzer for SECONDS (default 60) on a corpus made from the
# test fixtures. Prints executions and crashes; crash inputs are kept in fuzz-out/.
# Usage: scripts/fuzz-exif.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=fuzz-out
mkdir -p "$out/corpus" "$out/crashes"
# Seed corpus: the fixtures, each cut to its first 64 KiB (the metadata is at the front).
for f in Tests/EnrichTests/Fixtures/exif/images/*; do
    [ -s "$f" ] && head -c 65536 "$f" > "$out/corpus/$(basename "$f")"
done
# Compile a snapshot of the sources, so that editing them meanwhile cannot break the build.
rm -rf "$out/src" && mkdir -p "$out/src"
cp Sources/Enrich/EnrichError.swift Sources/Enrich/Exif/*.swift Fuzz/ExifFuzz/main.swift "$out/src/"
sources=("$out"/src/*.swift)
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name ExifFuzz \
    -package-name photoseal -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
    "${sources[@]}" -o "$out/exif-fuzz"
set +e
"$out/exif-fuzz" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$out/crashes/" -print_final_stats=1 2> "$out/fuzz.log"
status=$?
set -e
tail -n 40 "$out/fuzz.log"
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz.log" | grep -o '[0-9]*$' || echo 0)
crashes=$(find "$out/crashes" -type f | wc -l)
echo "exif fuzz: ${seconds}s, executions=${execs}, crashes=${crashes}, libFuzzer exit=${status}"
[ "$crashes" -eq 0 ]
