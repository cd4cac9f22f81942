#!/usr/bin/env bash
# Fernet seal/open throughput: photoseal vs Python `cryptography`, and the 1 MiB case against
# OpenSSL's own AES-128-CBC + HMAC-SHA256 speed, all in one run on this machine. Every rate is
# per CPU second of the measuring process (`openssl speed` divides by user time too), so other
# load on the machine does not favour one tool.
# Usage: scripts/bench-fernet.sh [seconds-per-measurement]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-2}
swift build -c release --product photoseal-bench >/dev/null
ours=$(.build/release/photoseal-bench fernet "$secs")
theirs=$(python3 - "$secs" <<'PY'
import sys, time
from cryptography.fernet import Fernet
secs = float(sys.argv[1])
f = Fernet(Fernet.generate_key())
def measure(fn):
    n = 0; t0 = time.process_time()
    while True:
        for _ in range(8): fn()
        n += 8
        el = time.process_time() - t0
        if el >= secs: return n / el
for size in (100, 1 << 20):
    p = b"a" * size
    toks = []
    seal = measure(lambda: toks.append(f.encrypt(p)) if len(toks) < 64 else f.encrypt(p))
    i = [0]
    def op():
        f.decrypt(toks[i[0] % len(toks)]); i[0] += 1
    print(f"{size},{int(seal)},{int(measure(op))}")
PY
)
aes=$(openssl speed -evp aes-128-cbc -bytes 1048576 -seconds "${secs%.*}" 2>/dev/null | awk '/^AES-128-CBC/ {sub("k","",$2); print $2*1000}')
hmac=$(openssl speed -hmac sha256 -bytes 1048576 -seconds "${secs%.*}" 2>/dev/null | awk '/^hmac\(sha256\)/ {sub("k","",$2); print $2*1000}')
python3 - "$ours" "$theirs" "$aes" "$hmac" <<'PY'
import sys
ours = {int(l.split(",")[0]): l.split(",")[1:] for l in sys.argv[1].splitlines()[1:]}
theirs = {int(l.split(",")[0]): l.split(",")[1:] for l in sys.argv[2].splitlines()}
aes, hmac = float(sys.argv[3]), float(sys.argv[4])
mib = 1 << 20
# A token needs one AES pass and one HMAC pass over the payload: the two rates combine harmonically.
openssl_tokens = 1 / (mib / aes + mib / hmac)
print(f"{'payload':>8} {'op':>5} {'photoseal tok/s':>16} {'python tok/s':>13} {'ratio':>7} {'openssl bound tok/s':>20} {'bound/photoseal':>16}")
for size in (100, mib):
    for i, op in enumerate(("seal", "open")):
        a, b = float(ours[size][i]), float(theirs[size][i])
        bound = f"{openssl_tokens:20.0f} {openssl_tokens / a:16.2f}" if size == mib else f"{'':>20} {'':>16}"
        print(f"{('100 B' if size == 100 else '1 MiB'):>8} {op:>5} {a:16.0f} {b:13.0f} {a / b:6.1f}x {bound}")
print("rates are tokens per CPU second, single-threaded")
print(f"openssl speed (1 MiB blocks): aes-128-cbc {aes / 1e6:.0f} MB/s, hmac-sha256 {hmac / 1e6:.0f} MB/s")
PY
