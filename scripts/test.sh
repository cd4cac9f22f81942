#!/usr/bin/env bash
# The test command: installs dependencies, builds everything once (warnings are errors in our
# own code), then runs every test tier. Usage: scripts/test.sh [extra `swift test` arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
swift format lint --strict -r Sources Tests Benchmarks Package.swift
log=$(mktemp)
swift build --build-tests 2>&1 | tee "$log"
if grep -E "^$PWD/(Sources|Tests|Benchmarks)/.*: warning:" "$log" | sort -u | grep .; then
  echo "photoseal: the build has warnings in project code (listed above); fix them" >&2
  exit 1
fi
rm -f "$log"
# The MongoDB wire-protocol test server (mongoeco in a Python 3.13 venv): tests that need their
# own private instances start more through the same script.
scripts/mongo-test-server.sh install
pid_file=$(mktemp -u /tmp/photoseal-mongo-XXXXXX.pid)
PHOTOSEAL_TEST_MONGODB_URI="$(scripts/mongo-test-server.sh start --pid-file "$pid_file" --watch-pid $$)"
export PHOTOSEAL_TEST_MONGODB_URI
trap 'scripts/mongo-test-server.sh stop --pid-file "$pid_file" >/dev/null 2>&1 || true' EXIT
# The gallery in Chromium (before the Swift tests, whose summary stays the last line).
scripts/browser-test.sh
swift test --skip-build "$@"
