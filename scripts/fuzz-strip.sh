#!/usr/bin/env bash
# Fuzz the metadata stripper with libFuzzer for SECONDS (default 60), then check what it made.
# In the fuzzer, for every input the stripper accepts: stripping again changes nothing, and an
# independent walk of the output finds only what decoding needs (Fuzz/StripFuzz/main.swift).
# After it, over the corpus it grew: exiftool finds in no stripped copy a group but the allowed
# ones, and every copy whose original Pillow decodes decodes to the same pixels.
# Usage: scripts/fuzz-strip.sh [SECONDS]   (CI runs it for a bounded time; crashes in fuzz-out/strip/)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=fuzz-out/strip
rm -rf "$out/src" "$out/checked" && mkdir -p "$out/corpus" "$out/crashes" "$out/src" "$out/checked"
# Seed corpus: the project's image fixtures and the shared camera photos (JPEG, PNG, WebP),
# cut to 256 KiB, plus PNG and WebP files with metadata chunks made by Pillow.
for f in Tests/IngestTests/Fixtures/images/* Tests/EnrichTests/Fixtures/exif/images/*.jpg ../shared/testdata/exif/images/*; do
    case "$f" in *.jpg|*.jpeg|*.png|*.webp|*.JPG) [ -s "$f" ] && head -c 262144 "$f" > "$out/corpus/$(basename "$f")" ;; esac
done
python3 - "$out/corpus" <<'PY'
import io, sys
from PIL import Image, PngImagePlugin
out = sys.argv[1]
image = Image.new("RGB", (24, 16), (200, 30, 60))
info = PngImagePlugin.PngInfo()
info.add_text("Author", "Alice Example")
info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><dc:creator>Alice</dc:creator></x:xmpmeta>")
info.add_text("Comment", "zipped " * 20, zip=True)
image.save(f"{out}/made-text.png", pnginfo=info)
exif = Image.Exif()
exif[0x010F] = "CameraMaker"
exif[0x013B] = "Alice Example"
image.save(f"{out}/made-exif.webp", exif=exif.tobytes(), quality=80)
image.save(f"{out}/made-exif.jpg", exif=exif.tobytes(), comment=b"a comment", quality=80)
image.save(f"{out}/made-progressive.jpg", exif=exif.tobytes(), progressive=True, quality=80)
PY
# One module of the stripper, the image sniffer and the Crypto sources (the stripper hashes ICC
# profiles), compiled outside SwiftPM from a snapshot of the sources.
cp Sources/Ingest/Images/MetadataStripper.swift Sources/Ingest/Images/ImageFormat.swift Sources/Crypto/*.swift \
    Fuzz/StripFuzz/main.swift "$out/src/"
# Crypto's C base64 decoder: compiled here, with a module map of its own.
mkdir -p "$out/cbase64"
printf 'module CBase64 {\n    header "%s/Sources/CBase64/include/CBase64.h"\n    export *\n}\n' "$PWD" > "$out/cbase64/module.modulemap"
clang -O2 -fsanitize=address -c Sources/CBase64/base64.c -I Sources/CBase64/include -o "$out/cbase64/base64.o" 2>/dev/null \
    || cc -O2 -c Sources/CBase64/base64.c -I Sources/CBase64/include -o "$out/cbase64/base64.o"
swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name Crypto -package-name photoseal \
    -I Sources/COpenSSL -I "$out/cbase64" "$out/cbase64/base64.o" -lcrypto -suppress-warnings \
    -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
    "$out"/src/*.swift -o "$out/strip-fuzz"
# Swift's own crash handler would fight AddressSanitizer's report.
export SWIFT_BACKTRACE=enable=no
set +e
# A fixed seed and run count (FUZZ_RUNS), so that CI explores the same inputs every time and
# its verdict does not depend on luck; SECONDS bounds the time.
"$out/strip-fuzz" "$out/corpus" -seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-150000}" -max_total_time="$seconds" \
    -max_len=262144 -timeout=5 -rss_limit_mb=2048 \
    -artifact_prefix="$out/crashes/" -print_final_stats=1 2> "$out/fuzz.log"
status=$?
set -e
tail -n 20 "$out/fuzz.log"
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz.log" | grep -o '[0-9]*$' || echo 0)
crashes=$(find "$out/crashes" -type f | wc -l)
# Every corpus input once more, writing each accepted one and its stripped copy.
STRIP_FUZZ_OUT="$out/checked" "$out/strip-fuzz" $(find "$out/corpus" -type f) > /dev/null 2>&1 || true
copies=$(find "$out/checked" -name '*.stripped.*' | wc -l)
# exiftool -a -G1 on every stripped copy: File, JFIF (density), ICC profiles and the PNG/WebP
# structure are allowed; any other group is metadata left behind.
exiftool -q -q -a -G1 -s -j -r -ext '*' "$out/checked" -if '$FileName =~ /\.stripped\./' > "$out/exiftool.json" || true
python3 - "$out" "$execs" "$crashes" "$status" "$copies" "$seconds" <<'PY'
import json, os, sys
from PIL import Image, ImageFile
out, execs, crashes, status, copies, seconds = sys.argv[1:7]
allowed = {"ExifTool", "System", "File", "Composite", "JFIF", "Adobe", "PNG", "PNG-pHYs", "RIFF"}
problems = []
for item in json.load(open(f"{out}/exiftool.json")) if os.path.getsize(f"{out}/exiftool.json") else []:
    groups = {key.split(":", 1)[0] for key in item if ":" in key}
    extra = sorted(g for g in groups if g not in allowed and not g.startswith("ICC"))
    if extra:
        problems.append(f"{os.path.basename(item['SourceFile'])}: exiftool finds {extra}")
same = 0
truncated = 0  # of `same`: decoded leniently (see below)
for name in sorted(os.listdir(f"{out}/checked")):
    if ".orig." not in name:
        continue
    original = f"{out}/checked/{name}"
    stripped = original.replace(".orig.", ".stripped.")
    try:
        with Image.open(original) as image:
            image.load()
            want = (image.mode, image.size, image.tobytes())
    except Exception:
        continue  # the original does not decode: nothing to compare
    try:
        with Image.open(stripped) as image:
            image.load()
            got = (image.mode, image.size, image.tobytes())
    except Exception as error:
        # A JPEG whose scan ends early at an end-of-image marker with bytes after it: Pillow's
        # strict mode decodes the original only because bytes follow the marker, and the
        # stripper drops whatever follows the marker by design (trailing data can carry
        # metadata). Decoded leniently, the copy must still give the original's pixels.
        try:
            ImageFile.LOAD_TRUNCATED_IMAGES = True
            with Image.open(stripped) as image:
                image.load()
                got = (image.mode, image.size, image.tobytes())
        except Exception:
            got = None
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        if got is None:
            problems.append(
                f"{os.path.basename(stripped)}: does not decode ({type(error).__name__}) while its original does")
            continue
        lenient = True
    else:
        lenient = False
    if got != want:
        problems.append(f"{os.path.basename(stripped)}: other pixels than its original")
    else:
        same += 1
        truncated += lenient
for line in problems[:20]:
    print("strip fuzz:", line)
print(f"strip fuzz: {seconds}s, executions={execs}, crashes={crashes}, libFuzzer exit={status}, "
      f"{copies} stripped copies checked by exiftool, {same} decode to their original's pixels "
      f"({truncated} of them leniently, their original's bytes after end-of-image dropped), {len(problems)} problems")
sys.exit(1 if problems or int(crashes) else 0)
PY
