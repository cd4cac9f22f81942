#!/usr/bin/env bash
# The main job on a fresh machine, with no keys, no servers and no internet: installs what is
# needed, builds, makes a secrets file, then runs photoseal on the bundled sample photos.
# Usage: scripts/quickstart.sh [WORKDIR]   (default ./photoseal-work)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
work=${1:-photoseal-work}
scripts/install-deps.sh
echo "building photoseal (release; the first build takes a few minutes)..." >&2
swift build -c release --product photoseal >/dev/null
bin=.build/release/photoseal
mkdir -p "$work"
keys="$work/keys.env"
[ -f "$keys" ] || "$bin" keys generate --out "$keys"
"$bin" keys list --keys "$keys" >&2
exif=$("$bin" exif --json samples/*.jpg)
printf '%-24s %-32s %-40s %s\n' photo camera place sealed-exif-token
while IFS=$'\t' read -r file camera lat lon exifb64; do
  place=$("$bin" geocode --json "$lat" "$lon" | python3 -c 'import json,sys; p=json.load(sys.stdin); print("%s, %s, %s (%s km)" % (p["city"], p["admin1"], p["cc"], p["distance_km"]))')
  token=$(printf '%s\n' "$exifb64" | "$bin" token encrypt --keys "$keys")
  printf '%-24s %-32s %-40s %s...\n' "$(basename "$file")" "$camera" "$place" "${token:0:24}"
done < <(printf '%s' "$exif" | python3 -c '
import base64, json, sys
for d in json.load(sys.stdin):
    t = d["tags"]; g = d["gps"]
    cam = (t.get("IFD0:Make", "") + " " + t.get("IFD0:Model", "")).strip()[:32]
    print("\t".join([d["file"], cam, str(g["lat"]), str(g["lon"]), base64.b64encode(json.dumps(d).encode()).decode()]))
')
