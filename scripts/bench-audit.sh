#!/usr/bin/env bash
# Audit throughput: `photoseal audit`'s checks (Audit in Ingest) over an embedded store of
# COUNT realistically sealed documents, beside a Python peer doing the same checks with
# `cryptography` and pymongo's bson over the same SQLite file, in one run.
#
# Usage: scripts/bench-audit.sh [COUNT]      (default 100000 documents; target >= 20000 docs/s)
# Makes .venv-bench (system python3 + its cryptography, plus pymongo from PyPI) on first use.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-100000}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$repo"
swift build -c release --product photoseal-bench >&2
venv="$repo/.venv-bench"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import bson, cryptography' 2>/dev/null; then
    python3 -m venv --system-site-packages "$venv" >&2
    "$venv/bin/pip" install --quiet 'pymongo>=4.6' >&2
fi
echo "== audit, $count documents (embedded store, $(nproc) cores)"
.build/release/photoseal-bench audit --count "$count" --path "$scratch/store.sqlite" --keys "$scratch/keys.env"
"$venv/bin/python" scripts/bench_audit_peer.py "$scratch/store.sqlite" "$scratch/keys.env" "$count"
