#!/usr/bin/env python3
"""The benchmarks' image set: distinct JPEGs of ~200 KB with EXIF and GPS, made from the Nikon
fixtures (Tests/IngestTests/Fixtures/images/es_DSCN*.jpg) with random COM segments after the
EXIF segment (where every EXIF reader looks first), so every file has its own SHA-256.

Usage: bench_images.py DEST NAME...      one file DEST/NAME per name (e.g. 00000.jpg, <id>.jpg)
       bench_images.py DEST --count N    DEST/00000.jpg ... DEST/<N-1>.jpg
       --small (before NAME or --count)  ~4 KB files instead, from the small Canon fixture
                                         (et_Canon.jpg, EXIF without GPS): for runs of many photos
The same names always get the same bytes (seeded).
"""
import os
import random
import sys

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "IngestTests", "Fixtures", "images")


def main():
    dst, rest = sys.argv[1], sys.argv[2:]
    small = rest[:1] == ["--small"]
    if small:
        rest = rest[1:]
    names = [f"{i:05d}.jpg" for i in range(int(rest[1]))] if rest[:1] == ["--count"] else rest
    os.makedirs(dst, exist_ok=True)
    prefix, size = ("et_Canon", 4_000) if small else ("es_DSCN", 200_000)
    bases = [open(os.path.join(FIXTURES, n), "rb").read() for n in sorted(os.listdir(FIXTURES)) if n.startswith(prefix)]
    rng = random.Random(7)
    for i, name in enumerate(names):
        base = bases[i % len(bases)]
        pad = rng.randbytes(size - len(base) - 4 if len(base) < size - 5_000 or small else 1000)
        at = 2
        if base[2:4] == b"\xff\xe1":
            at = 4 + int.from_bytes(base[4:6], "big")
        out = bytearray(base[:at])
        while pad:
            chunk, pad = pad[:65533], pad[65533:]
            out += b"\xff\xfe" + (len(chunk) + 2).to_bytes(2, "big") + chunk
        out += base[at:]
        with open(os.path.join(dst, name), "wb") as f:
            f.write(out)


if __name__ == "__main__":
    main()
