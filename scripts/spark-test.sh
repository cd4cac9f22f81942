#!/usr/bin/env bash
# The optional Spark tier (scripts/test.sh --spark; never part of the default run): runs
# deploy/spark/photoseal_spark.py under PySpark in local[2] over a small plan, and checks what it
# printed against the store and the plan's outputs.
#
# PySpark (PyPI, pinned) goes in .venv-spark (gitignored); it runs on the machine's Java 17. The
# work: COUNT distinct JPEGs (scripts/bench_images.py) served by nginx on loopback
# (scripts/static-server.sh) as a URL list, planned in 4 shards into a PostgreSQL database of its
# own (scripts/pg-test-server.sh). Passes when every shard finished, the store holds COUNT
# documents, and the driver's success and failure counts are the rows of the plan's Parquet
# outputs, read again here with PyArrow (not Spark). Prints the driver's wall time.
#
# Usage: scripts/spark-test.sh [COUNT]       (default 200)
#        PHOTOSEAL_BIN=path/to/photoseal scripts/spark-test.sh   (another build, no build step)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
count="${1:-200}"
cd "$repo"
venv="${PHOTOSEAL_SPARK_VENV:-$repo/.venv-spark}"
pyspark_version="4.0.1"

die() { echo "spark-test: $*" >&2; exit 1; }
command -v java >/dev/null || die "no java on PATH; PySpark needs Java 17 (Debian openjdk-17-jre-headless)"
if ! "$venv/bin/python" -c "import pyspark, pyarrow; assert pyspark.__version__ == '$pyspark_version'" 2>/dev/null; then
    echo "spark-test: installing pyspark $pyspark_version and pyarrow into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "pyspark==$pyspark_version" "pyarrow>=15" >&2
fi
if [[ -z "${PHOTOSEAL_BIN:-}" ]]; then swift build --product photoseal >&2; fi
ps="$(cd "$(dirname "${PHOTOSEAL_BIN:-.build/debug/photoseal}")" && pwd)/$(basename "${PHOTOSEAL_BIN:-photoseal}")"
[ -x "$ps" ] || die "no photoseal binary at $ps"

work="$(mktemp -d /tmp/photoseal-spark-XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/pg.pid" ] && scripts/pg-test-server.sh stop --pid-file "$work/pg.pid" >/dev/null 2>&1
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

python3 scripts/bench_images.py "$work/images" --count "$count"
chmod -R a+rX "$work/images"
exec 3< <(exec scripts/static-server.sh "$work/images")
pids+=($!)
read -r port <&3
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -fso /dev/null "$base/img/00000.jpg" && break; sleep 0.1; done
{ echo url; for ((i = 0; i < count; i++)); do printf '%s/img/%05d.jpg\n' "$base" "$i"; done; } >"$work/urls.csv"
"$ps" keys generate --out "$work/keys.env" >/dev/null 2>&1
store="$(scripts/pg-test-server.sh start --pid-file "$work/pg.pid")"

"$ps" plan --shards 4 --plan "$work/plan" "$work/urls.csv" --keys "$work/keys.env" --store "$store" \
    >"$work/plan.log" 2>&1 || { cat "$work/plan.log" >&2; die "photoseal plan failed"; }

start=$(date +%s.%N)
status=0
PHOTOSEAL_KEYS="$work/keys.env" "$venv/bin/python" deploy/spark/photoseal_spark.py --master 'local[2]' \
    --plan "$work/plan" --photoseal "$ps" --run-arg=--store --run-arg="$store" --output "$work/tables" \
    >"$work/driver.out" 2>"$work/driver.err" || status=$?
seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
cat "$work/driver.out"
[ "$status" = 0 ] || { tail -40 "$work/driver.err" >&2; die "the driver exited $status"; }

# The driver's counts against the store (psql) and the Parquet outputs (PyArrow).
documents="$(psql "$store" -tAc 'SELECT COUNT(*) FROM photos')"
read -r success failure < <("$venv/bin/python" - "$work/plan" <<'EOF'
import glob, os, sys
import pyarrow.parquet as pq
rows = lambda kind: sum(pq.read_metadata(f).num_rows for f in glob.glob(os.path.join(sys.argv[1], kind, "*.parquet")))
print(rows("success"), rows("failure"))
EOF
)
grep -qx "shards: 4 of 4 done" "$work/driver.out" || die "not every shard finished"
[ "$documents" = "$count" ] || die "the store holds $documents documents, not $count"
[ "$success" = "$count" ] || die "the shards' success Parquet has $success rows, not $count (one per loaded photo)"
grep -qx "success: $success rows" "$work/driver.out" || die "the driver's success count is not the $success Parquet rows"
grep -qx "failure: $failure rows" "$work/driver.out" \
    || { [ "$failure" = 0 ] && grep -q "^failure: 0 rows" "$work/driver.out"; } \
    || die "the driver's failure count is not the $failure Parquet rows"
printf 'spark-test: passed: %s photos in 4 shards through PySpark %s local[2] in %.1f s (driver wall time)\n' \
    "$count" "$pyspark_version" "$seconds"
