#!/usr/bin/env python3
"""Makes a small raster MBTiles file for tests (`photoseal serve --tiles`): plain PNG tiles, made
with zlib alone (no imaging library), one colour per tile with a darker edge.

Usage: make-mbtiles.py OUT.mbtiles [--zooms 0-2] [--bbox W,S,E,N] [--margin 0] [--schema table|view]
                       [--format png|pbf|none] [--attribution TEXT] [--tiles-dir DIR]

--bbox: only the tiles over this box (default the world), `bounds` in the metadata;
--margin: that many more tiles around it at each zoom; --schema view: the deduplicated layout
(`map` and `images` tables under a `tiles` view), as many tools write it; --format none leaves
`format` out of the metadata; --tiles-dir: also writes each tile's bytes to DIR/z/x/row.png
(row as stored: TMS, counted from the south), for a test to compare with what is served.
"""
import argparse
import math
import os
import sqlite3
import struct
import zlib


def png(width, height, colour, edge):
    """An RGB PNG of one colour with a one-pixel border of another."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    border = b"\x00" + bytes(edge) * width
    inner = b"\x00" + bytes(edge) + bytes(colour) * (width - 2) + bytes(edge)
    raw = border + inner * (height - 2) + border
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def tile_x(lon, z):
    return int(math.floor((lon + 180.0) / 360.0 * (1 << z)))


def tile_y(lat, z):
    """The XYZ row (0 at the north) of a latitude."""
    lat = max(min(lat, 85.0511), -85.0511)
    rad = math.radians(lat)
    return int(math.floor((1.0 - math.log(math.tan(rad) + 1.0 / math.cos(rad)) / math.pi) / 2.0 * (1 << z)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--zooms", default="0-2")
    parser.add_argument("--bbox", default="-180,-85.0511,180,85.0511")
    parser.add_argument("--margin", type=int, default=0)
    parser.add_argument("--schema", choices=["table", "view"], default="table")
    parser.add_argument("--format", default="png")
    parser.add_argument("--attribution", default="")
    parser.add_argument("--tiles-dir")
    args = parser.parse_args()
    low, high = (int(n) for n in args.zooms.split("-"))
    west, south, east, north = (float(n) for n in args.bbox.split(","))
    if os.path.exists(args.out):
        os.remove(args.out)
    db = sqlite3.connect(args.out)
    db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    metadata = {"name": "photoseal test tiles", "type": "baselayer", "version": "1", "minzoom": str(low),
                "maxzoom": str(high), "bounds": args.bbox}
    if args.format != "none":
        metadata["format"] = args.format
    if args.attribution:
        metadata["attribution"] = args.attribution
    db.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
    if args.schema == "table":
        db.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
    else:
        db.execute("CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT)")
        db.execute("CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row)")
        db.execute("CREATE TABLE images (tile_data BLOB, tile_id TEXT PRIMARY KEY)")
        db.execute("CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column, "
                   "map.tile_row AS tile_row, images.tile_data AS tile_data FROM map JOIN images "
                   "ON images.tile_id = map.tile_id")
    count = 0
    for z in range(low, high + 1):
        last = (1 << z) - 1
        xs = range(max(0, tile_x(west, z) - args.margin), min(last, tile_x(east, z) + args.margin) + 1)
        ys = range(max(0, tile_y(north, z) - args.margin), min(last, tile_y(south, z) + args.margin) + 1)
        for x in xs:
            for y in ys:
                row = last - y
                colour = (200 + (z * 9) % 50, 215 + (x % 8) * 5, 215 + (row % 8) * 5)
                data = png(256, 256, colour, (150, 170, 190))
                if args.schema == "table":
                    db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, row, data))
                else:
                    tile_id = "%d/%d/%d" % (z, x, row)
                    db.execute("INSERT INTO map VALUES (?, ?, ?, ?)", (z, x, row, tile_id))
                    db.execute("INSERT INTO images VALUES (?, ?)", (data, tile_id))
                if args.tiles_dir:
                    folder = os.path.join(args.tiles_dir, str(z), str(x))
                    os.makedirs(folder, exist_ok=True)
                    with open(os.path.join(folder, "%d.png" % row), "wb") as out:
                        out.write(data)
                count += 1
    db.commit()
    db.close()
    print(count)


if __name__ == "__main__":
    main()
