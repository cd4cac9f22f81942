#!/usr/bin/env bash
# Embedded-store throughput: photoseal's EmbeddedStore (upsert, reload, stream as audit does)
# beside a Python peer reading the same SQLite file with sqlite3 + pymongo's bson decoder.
#
# Usage: scripts/bench-store.sh [COUNT]      (default 100000 documents)
# Needs the mongo venv for pymongo's bson (scripts/mongo-test-server.sh install makes it).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-100000}"
file="$(mktemp -d)/bench-store.sqlite"
cd "$repo"
swift build -c release --product photoseal-bench >&2
scripts/mongo-test-server.sh install
echo "== embedded store, $count documents"
.build/release/photoseal-bench store --count "$count" --path "$file"
"${PHOTOSEAL_MONGO_VENV:-$repo/.venv-mongo}/bin/python" - "$file" "$count" <<'PY'
import sqlite3, sys, time
import bson
path, count = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
start = time.perf_counter()
seen = sealed = 0
for (body,) in db.execute("SELECT body FROM documents ORDER BY id"):
    doc = bson.decode(body)
    seen += 1
    if isinstance(doc.get("sealed", {}).get("owner"), str):
        sealed += 1
elapsed = time.perf_counter() - start
assert seen == count == sealed, (seen, sealed, count)
print(f"{'python sqlite3 + bson.decode (peer)':40} {seen} docs {elapsed:8.2f} s {seen / elapsed:10.0f} docs/s")
PY
rm -rf "$(dirname "$file")"
