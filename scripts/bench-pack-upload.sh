#!/usr/bin/env bash
# The 2 GB measurement of `photoseal pack --upload` (issue #17): memory and resume.
#
# Makes a workdir of ~2 GB of large, incompressible PNG images (random pixels, written in a few
# seconds by Python and imported from a folder), then against a moto S3 server of its own
# (scripts/moto-server.sh, stopped at the end):
#   1. uploads the pack with `pack --upload` under /usr/bin/time -v: peak RSS (target < 100 MB);
#   2. uploads it again to another key and SIGKILLs the upload once the multipart upload holds
#      about half its parts (counted with boto3's list_parts);
#   3. runs the same command again: reports the parts it sent and the parts it found stored
#      (target: only the missing ones sent), its peak RSS, and checks the object's bytes equal
#      the first upload's (same ETag-independent SHA-256 read back through boto3).
#
# Usage: scripts/bench-pack-upload.sh [--gb N] [--image-mb M] [--part-mb P] [--bin PATH] [--keep]
#   --gb N        pack size to aim for, in GiB (default 2)
#   --image-mb M  size of each image in MiB (default 4: a large camera photo)
#   --part-mb P   multipart part size in MiB (default 8: pack --upload's default)
#   --bin PATH    the photoseal binary (default .build/release/photoseal, else .build/debug)
#   --keep        keep the scratch folder (printed) instead of removing it
# Environment: PHOTOSEAL_MOTO_VENV as scripts/moto-server.sh reads it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gb=2
image_mb=4
part_mb=8
bin=""
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --gb) gb="${2:?}"; shift 2 ;;
        --image-mb) image_mb="${2:?}"; shift 2 ;;
        --part-mb) part_mb="${2:?}"; shift 2 ;;
        --bin) bin="${2:?}"; shift 2 ;;
        --keep) keep=1; shift ;;
        *) echo "bench-pack-upload: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
    esac
done
if [ -z "$bin" ]; then
    bin="$repo/.build/release/photoseal"
    [ -x "$bin" ] || bin="$repo/.build/debug/photoseal"
fi
[ -x "$bin" ] || { echo "bench-pack-upload: no photoseal binary at $bin; build it or pass --bin" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-pack-upload: /usr/bin/time is missing (Debian package time)" >&2; exit 1; }

scratch="$(mktemp -d /tmp/photoseal-bench-pack.XXXXXX)"
pid_file="$scratch/moto.pid"
venv="${PHOTOSEAL_MOTO_VENV:-$repo/.venv-moto}"
py="$venv/bin/python"
cleanup() {
    "$repo/scripts/moto-server.sh" stop --pid-file "$pid_file" >/dev/null 2>&1 || true
    if [ "$keep" = 1 ]; then echo "bench-pack-upload: kept $scratch" >&2; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

endpoint="$("$repo/scripts/moto-server.sh" start --pid-file "$pid_file" --watch-pid $$)"
keys="$scratch/keys.env"
"$bin" keys generate --out "$keys" >/dev/null 2>&1
cat "$pid_file.keys" >>"$keys"
bucket="bench-$(date +%s)"
s3py() { "$py" - "$endpoint" "$pid_file.keys" "$bucket" "$@"; }
s3_preamble='
import sys, boto3
endpoint, keys, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
kv = dict(l.strip().split("=", 1) for l in open(keys) if "=" in l)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=kv.get("AWS_REGION", "us-east-1"),
                  aws_access_key_id=kv["AWS_ACCESS_KEY_ID"], aws_secret_access_key=kv["AWS_SECRET_ACCESS_KEY"])
'
s3py <<<"$s3_preamble
s3.create_bucket(Bucket=bucket)"

# Images: RGB PNGs whose pixels are random (incompressible, all distinct), stored with zlib
# level 0 so that writing them costs little more than the disk.
count=$(( gb * 1024 / image_mb ))
t0=$(date +%s.%N)
python3 - "$scratch/photos" "$count" "$image_mb" <<'EOF'
import os, struct, sys, zlib
folder, count, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(folder, exist_ok=True)
width = 1024
stride = 1 + width * 3
height = (mb << 20) // stride
size = stride * height
# One random pool, each image a different window of it: incompressible, all distinct, and
# written at disk speed (os.urandom for every image took minutes on a loaded machine).
pool = os.urandom(64 << 20)
pool = pool + pool[:size]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
for i in range(count):
    start = (i * 1_000_003) % (64 << 20)
    raw = bytearray(pool[start:start + size])
    raw[0::stride] = bytes(height)  # filter type 0 on every row: a valid PNG
    raw[1:9] = struct.pack(">Q", i)  # distinct even if two windows met
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 0)) + chunk(b"IEND", b"")
    with open(os.path.join(folder, "img%05d.png" % i), "wb") as f:
        f.write(png)
EOF
t1=$(date +%s.%N)
echo "bench-pack-upload: $count images of ${image_mb} MiB written in $(awk -v a="$t0" -v b="$t1" "BEGIN { printf \"%.1f\", b - a }") s" >&2

common=(--workdir "$scratch/work" --keys "$keys")
"$bin" import "$scratch/photos" "${common[@]}" --progress none >/dev/null 2>"$scratch/import.log" \
    || { cat "$scratch/import.log" >&2; exit 1; }
rm -rf "$scratch/photos"
t2=$(date +%s.%N)
echo "bench-pack-upload: imported in $(awk -v a="$t1" -v b="$t2" "BEGIN { printf \"%.1f\", b - a }") s" >&2

pack() { # pack KEY LOG: pack --upload under /usr/bin/time -v
    /usr/bin/time -v "$bin" pack --include-all-rights-reserved --part-size "$part_mb" \
        --upload "s3://$bucket/$1" "${common[@]}" >/dev/null 2>"$2"
}
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$1"; }

# 1. One whole upload.
pack full.zip "$scratch/full.log" || { cat "$scratch/full.log" >&2; exit 1; }
size_line="$(grep -E 'pack: [0-9]+ photos' "$scratch/full.log" | head -1 || true)"
parts_line="$(grep -E 'parts sent' "$scratch/full.log" | head -1 || true)"
[ -n "$parts_line" ] || { echo "bench-pack-upload: no upload summary in the pack's output:" >&2; cat "$scratch/full.log" >&2; exit 1; }
echo "bench-pack-upload: full upload: $size_line" >&2
echo "bench-pack-upload: full upload: $parts_line; peak RSS $(rss_mb "$scratch/full.log") MB; wall $(wall "$scratch/full.log")" >&2
total_parts="$(sed -E 's/.*: ([0-9]+) parts sent, ([0-9]+) already stored.*/\1 \2/' <<<"$parts_line" | awk '{ print $1 + $2 }')"
half=$(( total_parts / 2 ))

# 2. Killed at about half its parts.
/usr/bin/time -v "$bin" pack --include-all-rights-reserved --part-size "$part_mb" \
    --upload "s3://$bucket/resumed.zip" "${common[@]}" >/dev/null 2>"$scratch/killed.log" &
upload_pid=$!
parts_now() {
    s3py <<<"$s3_preamble
ups = s3.list_multipart_uploads(Bucket=bucket, Prefix='resumed.zip').get('Uploads', [])
n = 0
for u in ups:
    n = max(n, len(s3.list_parts(Bucket=bucket, Key='resumed.zip', UploadId=u['UploadId'], MaxParts=1000).get('Parts', [])))
print(n)" 2>/dev/null || echo 0
}
stored=0
while kill -0 "$upload_pid" 2>/dev/null; do
    stored="$(parts_now)"
    [ "$stored" -ge "$half" ] && break
    sleep 0.2
done
# /usr/bin/time's child is the photoseal process: kill it, not time.
child="$(pgrep -P "$upload_pid" -x photoseal || true)"
[ -n "$child" ] && kill -9 "$child" 2>/dev/null || true
wait "$upload_pid" 2>/dev/null || true
stored="$(parts_now)"
echo "bench-pack-upload: killed (SIGKILL) with $stored of $total_parts parts stored" >&2

# 3. Run again: only the missing parts should be sent.
pack resumed.zip "$scratch/resumed.log" || { cat "$scratch/resumed.log" >&2; exit 1; }
resumed_line="$(grep -E 'parts sent' "$scratch/resumed.log" | head -1 || true)"
echo "bench-pack-upload: re-run: $resumed_line; peak RSS $(rss_mb "$scratch/resumed.log") MB; wall $(wall "$scratch/resumed.log")" >&2
sent="$(sed -E 's/.*: ([0-9]+) parts sent.*/\1/' <<<"$resumed_line")"
same="$(s3py <<<"$s3_preamble
import hashlib
def digest(key):
    h = hashlib.sha256()
    for block in s3.get_object(Bucket=bucket, Key=key)['Body'].iter_chunks(1 << 20):
        h.update(block)
    return h.hexdigest()
print('equal' if digest('full.zip') == digest('resumed.zip') else 'DIFFERENT')")"
echo "bench-pack-upload: parts sent by the re-run: $sent of $total_parts ($(( total_parts - stored )) were missing); the resumed object's bytes are $same to the whole upload's" >&2
peak_full="$(rss_mb "$scratch/full.log")"
peak_resumed="$(rss_mb "$scratch/resumed.log")"
echo "RESULT total_parts=$total_parts stored_at_kill=$stored resent=$sent peak_rss_full_mb=$peak_full peak_rss_resumed_mb=$peak_resumed object=$same"
[ "$same" = equal ] && [ "$sent" -eq $(( total_parts - stored )) ]
