"""Runs the shards of a photoseal plan on Spark, then gathers their outputs into two tables.

`photoseal plan --shards N --plan PLAN ...` writes the work as N shard files. This driver makes
an RDD of the shard ids 0..N-1 in N partitions and pipes each partition through the photoseal
binary with `RDD.pipe`: the executor's command reads shard ids on stdin and runs
`photoseal run --shard I/N --plan PLAN` for each, printing `I STATUS`. Shards that exit 75 (a
retry can help) are piped again, up to --retries rounds; a shard that finished (its stats file
exists) exits 0 at once, so the driver can be run again after any failure.

Then it reads PLAN/success/*.parquet and PLAN/failure/*.parquet (one row per loaded photo; one
per failed photo: id, stage, cause) into two DataFrames, registers them as the temporary views
`photoseal_success` and `photoseal_failure`, prints their counts (and the failures by stage), and
with --output DIR writes them as two Parquet tables, DIR/success and DIR/failure.

Every executor needs the photoseal binary (--photoseal), the plan folder at the same path, the
secrets file (PHOTOSEAL_KEYS or --run-arg=--keys --run-arg=FILE) and access to the store.

    spark-submit --master local[2] deploy/spark/photoseal_spark.py --plan /shared/plan
    spark-submit --master yarn --num-executors 8 deploy/spark/photoseal_spark.py \\
        --plan /shared/plan --photoseal /opt/photoseal/bin/photoseal --output /shared/tables

Exit status: 0 when every shard finished with 0; 1 when some did not (listed); 2 for a bad
command line or plan.
"""

import argparse
import glob
import json
import os
import shlex
import sys

RETRY_EXIT = 75

# Runs on the executors, once per partition: one photoseal run per shard id read on stdin, its
# output sent to the executor's stderr, and `ID STATUS` on stdout for the driver.
PIPE_SCRIPT = r"""
bin="$1"; plan="$2"; shards="$3"; shift 3
while read -r shard; do
    [ -n "$shard" ] || continue
    "$bin" run --shard "$shard/$shards" --plan "$plan" "$@" </dev/null >&2
    echo "$shard $?"
done
"""


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", required=True, help="the plan folder photoseal plan wrote")
    parser.add_argument("--photoseal", default="photoseal", help="the photoseal binary on the executors")
    parser.add_argument("--shards", type=int, help="only the first N shards (default: all the plan has)")
    parser.add_argument("--retries", type=int, default=2, help="rounds for shards that exit 75 (default 2)")
    parser.add_argument("--output", help="write the two tables here as Parquet (DIR/success, DIR/failure)")
    parser.add_argument(
        "--run-arg", action="append", default=[], help="one more `photoseal run` argument (repeatable)"
    )
    parser.add_argument("--master", help="the Spark master when not given by spark-submit (e.g. local[2])")
    return parser.parse_args(argv)


def plan_shards(plan):
    path = os.path.join(plan, "job.json")
    try:
        with open(path) as handle:
            return int(json.load(handle)["shards"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"photoseal-spark: no readable plan at {path} ({error}); run photoseal plan first", file=sys.stderr)
        sys.exit(2)


def run_shards(spark_context, arguments, shard_ids, total):
    """Pipes the shard ids through photoseal, one partition per shard; returns {id: status}."""
    command = shlex.join(
        ["bash", "-c", PIPE_SCRIPT, "photoseal-pipe", arguments.photoseal, os.path.abspath(arguments.plan), str(total)]
        + arguments.run_arg
    )
    ids = spark_context.parallelize([str(i) for i in shard_ids], len(shard_ids))
    statuses = {}
    for line in ids.pipe(command, env=dict(os.environ)).collect():
        shard, status = line.split()
        statuses[int(shard)] = int(status)
    # A partition whose command died before printing its line is missing: count it as retryable.
    return {i: statuses.get(i, RETRY_EXIT) for i in shard_ids}


def gather(spark, plan, kind):
    """The shards' `kind` Parquet (success or failure) as one DataFrame, or None when there is none."""
    files = sorted(glob.glob(os.path.join(plan, kind, "part-*.parquet")))
    if not files:
        return None
    return spark.read.parquet(*files)


def main(argv):
    arguments = parse_arguments(argv)
    total = plan_shards(arguments.plan)
    count = min(arguments.shards or total, total)

    from pyspark.sql import SparkSession

    # No progress bars on stderr: photoseal's own messages go there.
    builder = SparkSession.builder.appName("photoseal").config("spark.ui.showConsoleProgress", "false")
    if arguments.master:
        builder = builder.master(arguments.master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")

    pending = list(range(count))
    statuses = {}
    for round_number in range(arguments.retries + 1):
        if not pending:
            break
        statuses.update(run_shards(spark.sparkContext, arguments, pending, total))
        pending = [i for i in pending if statuses[i] == RETRY_EXIT]
        if pending and round_number < arguments.retries:
            print(f"photoseal-spark: shards {pending} exited {RETRY_EXIT}; running them again", file=sys.stderr)
    done = sorted(i for i, status in statuses.items() if status == 0)
    print(f"shards: {len(done)} of {count} done")

    tables = {}
    for kind in ("success", "failure"):
        frame = gather(spark, arguments.plan, kind)
        if frame is None:
            print(f"{kind}: 0 rows (no Parquet in {os.path.join(arguments.plan, kind)})")
            continue
        frame.createOrReplaceTempView(f"photoseal_{kind}")
        tables[kind] = frame
        print(f"{kind}: {frame.count()} rows")
    if "failure" in tables and "stage" in tables["failure"].columns:
        for row in tables["failure"].groupBy("stage").count().orderBy("stage").collect():
            print(f"failure: {row['stage']}: {row['count']}")
    if arguments.output:
        for kind, frame in tables.items():
            frame.write.mode("overwrite").parquet(os.path.join(arguments.output, kind))
        print(f"tables written to {arguments.output}")
    spark.stop()

    failed = {i: status for i, status in statuses.items() if status != 0}
    if failed:
        for shard, status in sorted(failed.items()):
            print(f"photoseal-spark: shard {shard} exited {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
