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
swift test --skip-build "$@"
