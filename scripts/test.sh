#!/usr/bin/env bash
# The test command: installs dependencies, builds everything once (warnings are errors in our
# own code), then runs every test tier. Usage: scripts/test.sh [extra `swift test` arguments]
#
# scripts/test.sh --unit runs only the pure-logic tier (tests tagged `.unit`; no servers, no
# dependencies installed, no lint): a build, then about ten seconds of tests.
#
# Tiers are Swift Testing tags (`.unit`, `.integration`, `.slow`, declared in each test target's
# Tiers.swift). Swift 6.3's `swift test` cannot select by tag (`--filter tag:unit` selects
# nothing: the `tag:` prefix of ST-0025 came after it), so `tier_filter` reads the tags from the
# sources and turns them into the `--filter` regular expression of the test IDs they mark:
# `Module.Suite/` for a tagged suite, `Module.function(` (or `Module.Suite/function(`) for a
# tagged test.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

tier_filter() {
  local tag=$1 file module
  for file in Tests/*/*.swift; do
    module=$(basename "$(dirname "$file")")
    # Collects each @Suite/@Test attribute (it may span lines) up to its declaration.
    awk -v tag="$tag" -v module="$module" '
      /^[[:space:]]*@(Suite|Test)([(]|$)/ { attr = $0; kind = ($0 ~ /@Suite/) ? "suite" : "test"; next }
      attr != "" && kind == "suite" && match($0, /(struct|class|enum|actor) [A-Za-z0-9_]+/) {
        split(substr($0, RSTART, RLENGTH), w, " ")
        if (attr ~ ("[.]tags[(][^)]*[.]" tag "[,)]")) print "^" module "\\." w[2] "/"
        attr = ""; next
      }
      attr != "" && kind == "test" && match($0, /func [A-Za-z0-9_]+[(]/) {
        name = substr($0, RSTART + 5, RLENGTH - 6)
        if (attr ~ ("[.]tags[(][^)]*[.]" tag "[,)]")) print "^" module "\\.([A-Za-z0-9_]+/)?" name "\\("
        attr = ""; next
      }
      attr != "" { attr = attr $0 }
    ' "$file"
  done | paste -sd'|' -
}

# scripts/test.sh --spark runs only the optional Spark tier (scripts/spark-test.sh: PySpark from
# PyPI in .venv-spark, deploy/spark's driver in local[2] over a small plan); never part of the
# default run.
if [ "${1:-}" = "--spark" ]; then
  shift
  exec scripts/spark-test.sh "$@"
fi
if [ "${1:-}" = "--unit" ]; then
  shift
  swift build --build-tests
  filter=$(tier_filter unit)
  [ -n "$filter" ] || { echo "photoseal: no test is tagged .unit" >&2; exit 1; }
  exec swift test --skip-build --filter "$filter" "$@"
fi
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
# PostgreSQL (Debian's server, a fresh cluster in a temporary directory on a loopback port) and
# moto's S3 server with authentication enforced (the keys of its one user go to a 0600 file).
pg_pid_file=$(mktemp -u /tmp/photoseal-pg-XXXXXX.pid)
moto_pid_file=$(mktemp -u /tmp/photoseal-moto-XXXXXX.pid)
smtp_pid_file=$(mktemp -u /tmp/photoseal-smtp-XXXXXX.pid)
slurm_pid_file=$(mktemp -u /tmp/photoseal-slurm-XXXXXX.pid)
stop_servers() {
  scripts/mongo-test-server.sh stop --pid-file "$pid_file" >/dev/null 2>&1 || true
  scripts/pg-test-server.sh stop --pid-file "$pg_pid_file" >/dev/null 2>&1 || true
  scripts/moto-server.sh stop --pid-file "$moto_pid_file" >/dev/null 2>&1 || true
  scripts/smtp-test-server.sh stop --pid-file "$smtp_pid_file" >/dev/null 2>&1 || true
  scripts/slurm-test-server.sh stop --pid-file "$slurm_pid_file" >/dev/null 2>&1 || true
}
trap stop_servers EXIT
PHOTOSEAL_TEST_POSTGRES_URI="$(scripts/pg-test-server.sh start --pid-file "$pg_pid_file" --watch-pid $$)"
export PHOTOSEAL_TEST_POSTGRES_URI
PHOTOSEAL_TEST_S3_ENDPOINT="$(scripts/moto-server.sh start --pid-file "$moto_pid_file" --watch-pid $$)"
export PHOTOSEAL_TEST_S3_ENDPOINT PHOTOSEAL_TEST_S3_KEYS="$moto_pid_file.keys"
# aiosmtpd on loopback: the mail tests read what it received from its mailbox folder.
PHOTOSEAL_TEST_SMTP_URL="$(scripts/smtp-test-server.sh start --pid-file "$smtp_pid_file" --watch-pid $$)"
export PHOTOSEAL_TEST_SMTP_URL PHOTOSEAL_TEST_SMTP_MAILBOX="$smtp_pid_file.mailbox"
# A one-node Slurm cluster (munged, slurmctld, slurmd on loopback, all in a temporary directory):
# the job-array test submits deploy/slurm's script to it with SLURM_CONF set to this path.
PHOTOSEAL_TEST_SLURM_CONF="$(scripts/slurm-test-server.sh start --pid-file "$slurm_pid_file" --watch-pid $$)"
export PHOTOSEAL_TEST_SLURM_CONF
# pyarrow and DuckDB (made by scripts/install-deps.sh) read the Parquet files back.
export PHOTOSEAL_PARQUET_VENV="${PHOTOSEAL_PARQUET_VENV:-$PWD/.venv-parquet}"
status=0
# Tests that bound a wall-clock time (a dead endpoint given up within 15 s, a stop within
# seconds of SIGTERM, a transfer deadline, a busy workdir refused within 1 s, a commit that
# waits at most 60 s for the rows processed behind it) run after the
# others, apart: the load of the parallel suites on 2 cores must not decide them.
timed='^(IngestTests\.(FailFastTests|HostileServerTests|StageRunnerQueueTests)|StoreTests\.(MongoStoreTests|PostgresStoreTests)|PhotosealCLITests\.(InterruptCLITests|PreflightCLITests|WorkspaceCLITests))/'
if [ $# -eq 0 ]; then
  swift test --skip-build --skip "$timed" || status=$?
  swift test --skip-build --filter "$timed" || status=$?
else
  swift test --skip-build "$@" || status=$?
fi
if [ $# -eq 0 ]; then
  # The full run only: the gallery in Chromium, and the stripper under libFuzzer for a bounded
  # time (150,000 runs from a fixed seed, at most PHOTOSEAL_FUZZ_SECONDS) with its outputs checked
  # by exiftool and Pillow.
  # Each runs whatever the others gave; the exit status is 0 only when all passed.
  scripts/browser-test.sh || status=1
  scripts/fuzz-strip.sh "${PHOTOSEAL_FUZZ_SECONDS:-180}" || status=1
fi
exit "$status"
