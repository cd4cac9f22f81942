#!/usr/bin/env bash
# EXIF reading speed: photoseal vs `exiftool -j -n -G1` (one process over all files) vs Python
# exifread (details=False), on the same corpus, page cache warm, in one run.
# Then the command line as users run it: `photoseal exif --json` over the first 100 files of the
# corpus repeated REPS times in one invocation, start-up included, beside one exifread process
# over the same list (start-up included too), best of 3 each.
# Usage: scripts/bench-exif.sh [CORPUS_DIR]   (default: the test fixtures; REPS=20 passes)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-Tests/EnrichTests/Fixtures/exif/images}"
reps="${REPS:-20}"
mapfile -t files < <(find "$corpus" -maxdepth 1 -type f | sort)
[ "${#files[@]}" -gt 0 ] || { echo "no files in $corpus" >&2; exit 2; }
command -v exiftool >/dev/null || { echo "exiftool missing: apt-get install -y libimage-exiftool-perl" >&2; exit 2; }

swift build -c release --product photoseal-bench >&2
swift build -c release --product photoseal >&2
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import exifread' 2>/dev/null; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -q 'exifread==3.5.1' >&2
fi

cat "${files[@]}" > /dev/null  # warm the page cache
bytes=$(cat "${files[@]}" | wc -c)
n=${#files[@]}

# photoseal: one pass (memory baseline) and REPS passes (memory must stay flat).
one=$(.build/release/photoseal-bench exif --iterations 1 "${files[@]}" | grep 'mode=read+json')
many=$(.build/release/photoseal-bench exif --iterations "$reps" "${files[@]}")

# exiftool: one process over all files, best of 3 (wall clock, and the child's CPU time).
exiftool_s=$(python3 - "${files[@]}" <<'PY'
import resource, subprocess, sys, time
best = None
for _ in range(3):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(["exiftool", "-j", "-n", "-G1", *sys.argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    best = (wall, cpu) if best is None else (min(best[0], wall), min(best[1], cpu))
print(f"{best[0]:.4f} {best[1]:.4f}")
PY
)

# exifread: details=False, one Python process, best of 3 passes (wall clock and CPU time).
exifread_s=$(.venv-bench/bin/python - "${files[@]}" <<'PY'
import sys, time, logging
import exifread
logging.disable(logging.CRITICAL)
best = None
for _ in range(3):
    t, c = time.perf_counter(), time.process_time()
    for path in sys.argv[1:]:
        with open(path, "rb") as f:
            try:
                exifread.process_file(f, details=False)
            except Exception:
                pass
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    best = (wall, cpu) if best is None else (min(best[0], wall), min(best[1], cpu))
print(f"{best[0]:.4f} {best[1]:.4f}")
PY
)

# The CLI, the issue's way: 100 files repeated REPS times as one command line, whole processes
# timed from outside (start-up included), best of 3; exifread as one Python process likewise.
cli_files=("${files[@]:0:100}")
cli_list=()
for _ in $(seq "$reps"); do cli_list+=("${cli_files[@]}"); done
cli_s=$(.venv-bench/bin/python - "${cli_list[@]}" <<'PY'
import subprocess, sys, time
files = sys.argv[1:]
reader = """
import sys, logging
import exifread
logging.disable(logging.CRITICAL)
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        try:
            exifread.process_file(f, details=False)
        except Exception:
            pass
"""
def best(command):
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)
print(f"{best(['.build/release/photoseal', 'exif', '--json', *files]):.4f} {best([sys.executable, '-c', reader, *files]):.4f}")
PY
)

python3 - "$n" "$bytes" "$reps" "$one" "$many" "$exiftool_s" "$exifread_s" "${#cli_list[@]}" "$cli_s" <<'PY'
import sys
n, size, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def kv(line): return dict(p.split("=", 1) for p in line.split()[1:])
one = kv(sys.argv[4])
modes = {kv(l)["mode"]: kv(l) for l in sys.argv[5].splitlines()}
read, full = modes["read"], modes["read+json"]
mb = size / 1e6
et_wall, et_cpu = (n / float(x) for x in sys.argv[6].split())
er_wall, er_cpu = (n / float(x) for x in sys.argv[7].split())
rows = [
    ("photoseal ExifReader.read", float(read["files_per_s"]), float(read["cpu_files_per_s"])),
    ("photoseal read + JSON object", float(full["files_per_s"]), float(full["cpu_files_per_s"])),
    ("exiftool -j -n -G1 (1 process)", et_wall, et_cpu),
    ("exifread details=False", er_wall, er_cpu),
]
print(f"corpus: {n} files, {mb:.1f} MB, page cache warm; photoseal {reps} passes, peers best of 3")
print(f"{'tool':<32}{'files/s wall':>14}{'files/s CPU':>13}{'MB/s CPU':>10}")
for name, wall, cpu in rows:
    print(f"{name:<32}{wall:>14.1f}{cpu:>13.1f}{cpu * mb / n:>10.1f}")
print()
vs_et = (float(full["files_per_s"]) / et_wall, float(full["cpu_files_per_s"]) / et_cpu)
vs_er = (float(read["files_per_s"]) / er_wall, float(read["cpu_files_per_s"]) / er_cpu)
print(f"photoseal (read+JSON) vs exiftool: {vs_et[0]:.0f}x wall, {vs_et[1]:.0f}x CPU   (target >= 50x)")
print(f"photoseal (read) vs exifread:      {vs_er[0]:.1f}x wall, {vs_er[1]:.1f}x CPU   (target >= 20x)")
cli_n = int(sys.argv[8])
cli_ps, cli_er = (cli_n / float(x) for x in sys.argv[9].split())
print()
print(f"command line, {cli_n} files ({min(n, 100)} files x {reps}) per process, start-up included, best of 3:")
print(f"{'photoseal exif --json':<32}{cli_ps:>14.1f} files/s")
print(f"{'exifread (one python process)':<32}{cli_er:>14.1f} files/s")
print(f"photoseal exif --json vs exifread: {cli_ps / cli_er:.1f}x   (target >= 20x)")
print(f"photoseal peak RSS: {float(one['peak_rss_mb']):.1f} MB after {n} reads, "
      f"{float(full['peak_rss_mb']):.1f} MB after {2 * n * reps} reads")
PY
