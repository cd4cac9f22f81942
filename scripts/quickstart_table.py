"""Prints what the quickstart stored: reads `photoseal export --format jsonl --decrypt` lines."""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.strip()]
kid = rows[0]["seal"]["kid"] if rows else "-"
print("%d photos stored; personal fields sealed as Fernet tokens under key %s" % (len(rows), kid))
print("%-20s %-36s %-26s %s" % ("photo", "place (offline geocoder)", "camera (opened sealed exif)", "sealed fields"))
for d in rows:
    p = d.get("place") or {}
    place = ", ".join(x for x in (p.get("city"), p.get("admin1"), p.get("cc")) if x) or "-"
    opened = d.get("decrypted") or {}
    exif = opened.get("exif") or {}
    # The opened EXIF is a JSON object (older photoseal printed it as a string of JSON).
    tags = (json.loads(exif) if isinstance(exif, str) else exif).get("tags", {})
    camera = ("%s %s" % (tags.get("IFD0:Make", ""), tags.get("IFD0:Model", ""))).strip() or "-"
    sealed = ",".join(sorted(k for k, v in (d.get("sealed") or {}).items() if v))
    print("%-20s %-36s %-26s %s" % (d["_id"][:20], place[:36], camera[:26], sealed))
