#!/usr/bin/env bash
# Fernet seal/open throughput: photoseal's library beside Python `cryptography` (pyca) at its
# current PyPI release and at 48, all in one run on this machine; the 1 MiB case also beside
# OpenSSL's own AES-128-CBC + HMAC-SHA256 speed; then `photoseal token encrypt` over 100,000
# lines against a pyca stdin -> stdout script.
#
# Library rates are per CPU second of the measuring process (`openssl speed` divides by user
# time too), so other load on the machine does not favour one tool; every measurement is one
# thread. The command-line rows are whole processes, start-up included, best of 3 runs.
#
# Usage: scripts/bench-fernet.sh [seconds-per-measurement]
# Makes .venv-bench/pyca-current (upgraded to PyPI's newest cryptography on each run) and
# .venv-bench/pyca-48 on first use; if PyPI cannot be reached the installed versions are used.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
secs=${1:-2}
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for v in current 48; do
    venv="$repo/.venv-bench/pyca-$v"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
    if [ "$v" = current ]; then spec=cryptography; else spec=cryptography==48.0.0; fi
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade "$spec" >&2; then
        "$venv/bin/python" -c 'import cryptography' ||
            { echo "bench-fernet: cannot install $spec into $venv" >&2; exit 1; }
        echo "bench-fernet: PyPI unreachable, using the installed $spec" >&2
    fi
done
swift build -c release --product photoseal-bench >&2
swift build -c release --product photoseal >&2

ours=$(.build/release/photoseal-bench fernet "$secs")
# Python's best case: a bound method in a local, called in runs of 64 between clock reads.
peer='
import sys, time, cryptography
from cryptography.fernet import Fernet
secs = float(sys.argv[1])
f = Fernet(Fernet.generate_key())
def measure(fn, arg):
    n = 0; t0 = time.process_time()
    while True:
        for _ in range(64): fn(arg)
        n += 64
        el = time.process_time() - t0
        if el >= secs: return n / el
print(cryptography.__version__)
for size in (100, 1 << 20):
    p = b"a" * size
    seal = measure(f.encrypt, p)
    token = f.encrypt(p)
    print(f"{size},{int(seal)},{int(measure(f.decrypt, token))}")
'
current=$(.venv-bench/pyca-current/bin/python -c "$peer" "$secs")
old=$(.venv-bench/pyca-48/bin/python -c "$peer" "$secs")
aes=$(openssl speed -evp aes-128-cbc -bytes 1048576 -seconds "${secs%.*}" 2>/dev/null | awk '/^AES-128-CBC/ {sub("k","",$2); print $2*1000}')
hmac=$(openssl speed -hmac sha256 -bytes 1048576 -seconds "${secs%.*}" 2>/dev/null | awk '/^hmac\(sha256\)/ {sub("k","",$2); print $2*1000}')

# `photoseal token encrypt` against the same job in Python: 100,000 lines of base64 of 100
# random bytes in, one token a line out.
.build/release/photoseal keys generate --out "$scratch/keys.env" >/dev/null 2>&1
python3 -c '
import base64, os, sys
with open(sys.argv[1], "wb") as out:
    out.writelines(base64.b64encode(os.urandom(100)) + b"\n" for _ in range(100_000))
' "$scratch/lines.txt"
cat >"$scratch/encrypt.py" <<'PY'
import base64, sys
from cryptography.fernet import Fernet
key = next(l.split("=", 1)[1].split(",")[0].strip() for l in open(sys.argv[1]) if l.startswith("SEAL_KEYS="))
encrypt, decode = Fernet(key.encode()).encrypt, base64.b64decode
sys.stdout.buffer.writelines(encrypt(decode(line)) + b"\n" for line in sys.stdin.buffer)
PY
cli=$(python3 - "$scratch" "$repo" <<'PY'
import os, resource, subprocess, sys, time
scratch, repo = sys.argv[1], sys.argv[2]
keys = f"{scratch}/keys.env"
commands = {
    "photoseal": [f"{repo}/.build/release/photoseal", "token", "encrypt", "--keys", keys],
    "pyca": [f"{repo}/.venv-bench/pyca-current/bin/python", f"{scratch}/encrypt.py", keys],
}
for name, command in commands.items():
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        with open(f"{scratch}/lines.txt", "rb") as i, open(f"{scratch}/{name}.out", "wb") as o:
            subprocess.run(command, stdin=i, stdout=o, check=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    print(f"{name},{100_000 / best_wall:.0f},{100_000 / best_cpu:.0f}")
PY
)
# Both outputs must be 100,000 tokens that pyca opens to the input lines.
.venv-bench/pyca-current/bin/python - "$scratch" <<'PY'
import base64, sys
from cryptography.fernet import Fernet
scratch = sys.argv[1]
key = next(l.split("=", 1)[1].split(",")[0].strip() for l in open(f"{scratch}/keys.env") if l.startswith("SEAL_KEYS="))
f = Fernet(key.encode())
lines = open(f"{scratch}/lines.txt", "rb").read().split()
for name in ("photoseal", "pyca"):
    tokens = open(f"{scratch}/{name}.out", "rb").read().split()
    assert len(tokens) == len(lines), f"{name}: {len(tokens)} tokens for {len(lines)} lines"
    assert all(base64.b64encode(f.decrypt(t)) == l for t, l in zip(tokens, lines)), f"{name}: a token does not open"
PY

python3 - "$ours" "$current" "$old" "$aes" "$hmac" "$cli" <<'PY'
import sys
def table(text, skip):
    rows = text.splitlines()[skip:]
    return {int(l.split(",")[0]): [float(x) for x in l.split(",")[1:]] for l in rows}
ours = table(sys.argv[1], 1)
current, old = table(sys.argv[2], 1), table(sys.argv[3], 1)
cv, ov = sys.argv[2].splitlines()[0], sys.argv[3].splitlines()[0]
aes, hmac = float(sys.argv[4]), float(sys.argv[5])
cli = {l.split(",")[0]: [float(x) for x in l.split(",")[1:]] for l in sys.argv[6].splitlines()}
mib = 1 << 20
# A token needs one AES pass and one HMAC pass over the payload: the two rates combine harmonically.
bound = 1 / (mib / aes + mib / hmac)
print(f"library, tokens per CPU second, one thread (pyca current = {cv})")
print(f"{'payload':>8} {'op':>5} {'photoseal':>10} {'pyca ' + cv:>13} {'ratio':>7} {'pyca ' + ov:>13} {'ratio':>7} {'openssl bound':>14}")
for size in (100, mib):
    for i, op in enumerate(("seal", "open")):
        a, b, c = ours[size][i], current[size][i], old[size][i]
        extra = f"{bound:14.0f}" if size == mib else ""
        print(f"{('100 B' if size == 100 else '1 MiB'):>8} {op:>5} {a:10.0f} {b:13.0f} {a / b:6.1f}x {c:13.0f} {a / c:6.1f}x {extra}")
print(f"openssl speed (1 MiB blocks): aes-128-cbc {aes / 1e6:.0f} MB/s, hmac-sha256 {hmac / 1e6:.0f} MB/s")
print()
print("token encrypt, 100,000 lines of 100-byte payloads, whole process with start-up, best of 3")
print(f"{'':>24} {'lines/s wall':>13} {'lines/s CPU':>12}")
for name, label in (("photoseal", "photoseal token encrypt"), ("pyca", f"pyca {cv} script")):
    print(f"{label:>24} {cli[name][0]:13.0f} {cli[name][1]:12.0f}")
p, q = cli["photoseal"], cli["pyca"]
print(f"{'ratio':>24} {p[0] / q[0]:12.1f}x {p[1] / q[1]:11.1f}x")
PY
