#!/usr/bin/env python3
"""Reads Parquet files that photoseal wrote, with pyarrow and with DuckDB (the venv of
scripts/install-deps.sh: .venv-parquet), for the tests and scripts/bench-parquet.sh.

Usage:
  parquet_check.py dump FILE
      Prints one JSON object: {"pyarrow": rows, "duckdb": rows, "row_groups": n,
      "num_rows": n, "columns": {path: {"encodings": [...], "compression": "..."}},
      "schema": pyarrow's schema as text}. Rows are JSON objects, maps as objects,
      timestamps as microseconds since the epoch (UTC), dates as days.
  parquet_check.py compare FILE.parquet FILE.jsonl
      Checks that both readers give back, row by row and field by field, the documents of the
      `photoseal export --format jsonl` of the same store and filters (see docs/export.md for the
      mapping); prints a one-line summary, exits 1 naming the first difference.
"""
import datetime
import json
import math
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def normalise(value, arrow_type):
    """A value read by either reader, in one JSON-comparable form for its Arrow type."""
    if value is None:
        return None
    if pa.types.is_map(arrow_type):
        items = value.items() if isinstance(value, dict) else value
        if isinstance(value, dict) and set(value.keys()) == {"key", "value"} and isinstance(value["key"], list):
            items = zip(value["key"], value["value"])
        return {k: normalise(v, arrow_type.item_type) for k, v in items}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return [normalise(v, arrow_type.value_type) for v in value]
    if pa.types.is_struct(arrow_type):
        return {
            arrow_type.field(i).name: normalise(value.get(arrow_type.field(i).name), arrow_type.field(i).type)
            for i in range(arrow_type.num_fields)
        }
    if pa.types.is_timestamp(arrow_type):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - EPOCH
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if pa.types.is_date(arrow_type):
        return (value - datetime.date(1970, 1, 1)).days
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def read_both(path):
    table = pq.read_table(path)
    schema = table.schema
    arrow_rows = [
        {field.name: normalise(row[field.name], field.type) for field in schema} for row in table.to_pylist()
    ]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cursor = con.execute("SELECT * FROM read_parquet(?)", [path])
    names = [d[0] for d in cursor.description]
    duck_rows = [
        {name: normalise(value, schema.field(name).type) for name, value in zip(names, row)}
        for row in cursor.fetchall()
    ]
    return schema, arrow_rows, duck_rows


def expected_row(document):
    """A JSON line as the Parquet file holds it: `_id` is `id`, the opened EXIF its JSON text
    (compared as the object it parses to)."""
    row = dict(document)
    row["id"] = row.pop("_id")
    return row


def shown(value, where):
    """A value for a message: personal fields (opened or sealed) are never printed."""
    return "(personal value)" if ".decrypted" in where or ".sealed" in where else repr(value)


def difference(expected, actual, where):
    """The first place where a JSON line's value and a Parquet value differ, or None. A member
    missing from the JSON line is null (the encoder leaves nil out)."""
    if isinstance(expected, dict) or isinstance(actual, dict):
        if not isinstance(expected, dict) or not isinstance(actual, dict):
            return f"{where}: {type(expected).__name__} in JSON lines, {type(actual).__name__} in Parquet"
        for key in sorted(set(expected) | set(actual)):
            found = difference(expected.get(key), actual.get(key), f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) or isinstance(actual, list):
        if not isinstance(expected, list) or not isinstance(actual, list) or len(expected) != len(actual):
            return f"{where}: lists differ in length or kind"
        for index, (e, a) in enumerate(zip(expected, actual)):
            found = difference(e, a, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return None if expected is actual else f"{where}: {shown(expected, where)} != {shown(actual, where)}"
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return None if expected == actual else f"{where}: {shown(expected, where)} != {shown(actual, where)}"
    if expected != actual or type(expected) is not type(actual):
        return f"{where}: {shown(expected, where)} != {shown(actual, where)}"
    return None


def compare(parquet_path, jsonl_path):
    _, arrow_rows, duck_rows = read_both(parquet_path)
    with open(jsonl_path, encoding="utf-8") as f:
        documents = [json.loads(line) for line in f if line.strip()]
    for reader, rows in (("pyarrow", arrow_rows), ("duckdb", duck_rows)):
        if len(rows) != len(documents):
            print(f"{reader}: {len(rows)} rows, JSON lines {len(documents)}")
            return 1
        for index, (document, row) in enumerate(zip(documents, rows)):
            row = dict(row)
            exif = (row.get("decrypted") or {}).get("exif")
            if exif is not None:
                # The EXIF is the JSON text of what JSON lines holds as an object.
                try:
                    parsed = json.loads(exif)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    row["decrypted"] = dict(row["decrypted"], exif=parsed)
            found = difference(expected_row(document), row, f"row {index} ({document.get('_id')})")
            if found:
                print(f"{reader}: {found}")
                return 1
    print(f"pyarrow and duckdb: {len(documents)} rows equal the JSON lines")
    return 0


def dump(path):
    schema, arrow_rows, duck_rows = read_both(path)
    meta = pq.ParquetFile(path).metadata
    columns = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            entry = columns.setdefault(column.path_in_schema, {"encodings": set(), "compression": column.compression})
            entry["encodings"].update(column.encodings)
    for entry in columns.values():
        entry["encodings"] = sorted(entry["encodings"])
    print(
        json.dumps(
            {
                "pyarrow": arrow_rows,
                "duckdb": duck_rows,
                "row_groups": meta.num_row_groups,
                "num_rows": meta.num_rows,
                "columns": columns,
                "schema": str(schema),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
