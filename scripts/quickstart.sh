#!/usr/bin/env bash
# The main job on a fresh machine, with no keys, no servers and no internet: installs what is
# needed, builds, makes a secrets file, imports the bundled sample photos, runs every stage on
# the embedded store, audits it, and prints a short table of what was stored.
# Usage: scripts/quickstart.sh [WORKDIR]   (default ./photoseal-work)
# With MONGODB_URI (or --store in PHOTOSEAL_STORE) set, the same run loads into MongoDB instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
work=${1:-photoseal-work}
scripts/install-deps.sh
echo "building photoseal (release; the first build takes a few minutes)..." >&2
swift build -c release --product photoseal >/dev/null
ps() { .build/release/photoseal "$@"; }
mkdir -p "$work"
keys="$work/keys.env"
[ -f "$keys" ] || ps keys generate --out "$keys"
common=(--workdir "$work" --keys "$keys")
# --store only for the commands that use a store (run, audit); export reads the workdir.
store=()
[ -n "${PHOTOSEAL_STORE:-}" ] && store=(--store "$PHOTOSEAL_STORE")

# Every stage in one command: import the samples, extract (EXIF sealed, position, place),
# score (skipped: no Vision key), seal-check and load into the store; then prove the store.
ps run samples "${common[@]}" "${store[@]}"
ps audit "${common[@]}" "${store[@]}"

# What was stored: place and camera come from opening the sealed fields with the keys.
echo
ps export --format jsonl --decrypt "${common[@]}" 2>/dev/null | python3 scripts/quickstart_table.py

# The gallery, table and map of what was stored, on this machine only.
echo
echo "Open the gallery of these photos: .build/release/photoseal serve --workdir $work --keys $keys" \
  "${store[*]:+${store[*]} }then browse http://127.0.0.1:8080/ (Ctrl-C stops it)"
