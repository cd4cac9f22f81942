#!/usr/bin/env python3
"""The Python baseline of scripts/bench-pipeline.sh: the pipeline's work done with the usual
Python tools, so photoseal's images/s can be compared with it in one run.

search (requests, page by page from the Flickr REST endpoint)
-> download (requests + ThreadPoolExecutor(32): status, Content-Length, image signature,
   SHA-256, written under the hash by an atomic rename)
-> extract (exifread, GPS when Flickr gave no position; reverse_geocoder for the place)
-> seal (cryptography's Fernet: owner, owner name, path alias and the EXIF JSON, each in
   photoseal's envelope `ps1\\n<id>\\n<field>\\n<value>`; blind index HMAC-SHA256 of the owner)
-> load (sqlite3: one JSON document per photo, one transaction).

Usage: bench_pipeline_baseline.py ENDPOINT API_KEY TERM KEYS_FILE OUT_DIR
KEYS_FILE is photoseal's secrets file (SEAL_KEYS, INDEX_KEY), so both tools seal with the same key.
"""
import base64
import hashlib
import hmac
import io
import json
import os
import sqlite3
import sys
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import exifread
import requests
import reverse_geocoder
from cryptography.fernet import Fernet

EXTRAS = ("description,license,date_upload,date_taken,owner_name,original_format,geo,tags,machine_tags,"
          "o_dims,views,media,path_alias,url_o,url_k,url_h,url_l,url_c")
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF", b"II*\x00", b"MM\x00*")


def secrets(path):
    values = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values


endpoint, api_key, term, keys_file, out = sys.argv[1:6]
keys = secrets(keys_file)
fernet = Fernet(keys["SEAL_KEYS"].split(",")[0])
index_key = base64.urlsafe_b64decode(keys["INDEX_KEY"] + "=" * (-len(keys["INDEX_KEY"]) % 4))
kid = hmac.new(base64.urlsafe_b64decode(keys["SEAL_KEYS"].split(",")[0]), b"photoseal-kid",
               hashlib.sha256).hexdigest()[:8]
local = threading.local()
stamps = {"start": time.time()}


def session():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s


def seal(doc_id, field, value):
    return fernet.encrypt(b"ps1\n" + doc_id.encode() + b"\n" + field.encode() + b"\n" + value).decode()


def blind(owner):
    norm = unicodedata.normalize("NFC", owner.strip()).lower()
    return hmac.new(index_key, norm.encode(), hashlib.sha256).hexdigest()


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# Search: every page of the term, personal fields sealed as each page is read.
docs = []
page, pages = 1, 1
while page <= pages:
    params = {"method": "flickr.photos.search", "api_key": api_key, "text": term, "extras": EXTRAS,
              "sort": "date-taken-asc", "media": "photos", "per_page": "500", "page": str(page),
              "format": "json", "nojsoncallback": "1"}
    body = session().get(endpoint, params=params, timeout=30).json()
    if body.get("stat") != "ok":
        sys.exit("search failed: %s" % body)
    pages = int(body["photos"]["pages"])
    for p in body["photos"]["photo"]:
        doc_id = "flickr:" + str(p["id"])
        doc = {"_id": doc_id, "source": "flickr", "source_id": str(p["id"]), "terms": [term],
               "title": p.get("title", ""), "description": (p.get("description") or {}).get("_content", ""),
               "tags": (p.get("tags") or "").split(), "views": int(p.get("views") or 0),
               "license": p.get("license"), "taken_at": (p.get("datetaken") or "").replace(" ", "T"),
               "image_url": p.get("url_o") or p.get("url_k") or p.get("url_h") or p.get("url_l") or p.get("url_c"),
               "sealed": {}, "seal": {"kid": kid, "at": now()}, "ingested_at": now()}
        lat, lon = float(p.get("latitude") or 0), float(p.get("longitude") or 0)
        if lat or lon:
            doc["geo"] = {"lat": lat, "lon": lon, "accuracy": int(p.get("accuracy") or 0), "source": "flickr"}
        for field, key in (("owner", "owner"), ("owner_name", "ownername"), ("path_alias", "pathalias")):
            if p.get(key):
                doc["sealed"][field] = seal(doc_id, field, p[key].encode())
        if p.get("owner"):
            doc["blind"] = {"owner": blind(p["owner"])}
        docs.append(doc)
    page += 1
stamps["search"] = time.time()


def ratio(v):
    return float(v.num) / float(v.den) if v.den else 0.0


def dms(values, ref):
    d = ratio(values[0]) + ratio(values[1]) / 60 + ratio(values[2]) / 3600
    return -d if str(ref) in ("S", "W") else d


def download(doc):
    for attempt in range(5):
        r = session().get(doc["image_url"], timeout=30)
        if r.status_code == 200 and len(r.content) == int(r.headers.get("Content-Length", len(r.content))):
            break
    body = r.content
    if not body.startswith(SIGNATURES):
        return doc, False
    sha = hashlib.sha256(body).hexdigest()
    folder = os.path.join(out, "images", sha[:2])
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, sha + ".part")
    with open(tmp, "wb") as f:
        f.write(body)
    os.replace(tmp, os.path.join(folder, sha + ".jpg"))
    doc["image"] = {"sha256": sha, "bytes": len(body), "format": "jpeg", "path": "images/%s/%s.jpg" % (sha[:2], sha)}
    tags = exifread.process_file(io.BytesIO(body), details=False)
    exif = {k: str(v) for k, v in tags.items()}
    doc["sealed"]["exif"] = seal(doc["_id"], "exif", json.dumps(exif, sort_keys=True).encode())
    if "geo" not in doc and "GPS GPSLatitude" in tags and "GPS GPSLongitude" in tags:
        doc["geo"] = {"lat": dms(tags["GPS GPSLatitude"].values, tags.get("GPS GPSLatitudeRef")),
                      "lon": dms(tags["GPS GPSLongitude"].values, tags.get("GPS GPSLongitudeRef")),
                      "source": "exif"}
    return doc, True


with ThreadPoolExecutor(32) as pool:
    stored = sum(1 for _, ok in pool.map(download, docs) if ok)
stamps["download"] = time.time()

positioned = [d for d in docs if "geo" in d]
places = reverse_geocoder.search([(d["geo"]["lat"], d["geo"]["lon"]) for d in positioned], mode=1,
                                 verbose=False) if positioned else []
for d, p in zip(positioned, places):
    d["place"] = {"cc": p["cc"], "admin1": p["admin1"], "admin2": p["admin2"], "city": p["name"]}
stamps["extract"] = time.time()

db = sqlite3.connect(os.path.join(out, "store.sqlite"))
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
with db:
    db.executemany("INSERT OR REPLACE INTO documents (id, body) VALUES (?, ?)",
                   ((d["_id"], json.dumps(d, ensure_ascii=False)) for d in docs))
loaded = db.execute("SELECT count(*) FROM documents").fetchone()[0]
db.close()
stamps["load"] = time.time()

names = ["search", "download", "extract", "load"]
steps = ", ".join("%s %.2f s" % (n, stamps[n] - stamps[prev]) for prev, n in zip(["start"] + names, names))
print("python: %d found, %d stored, %d positioned, %d places, %d loaded (%s)"
      % (len(docs), stored, len(positioned), len(places), loaded, steps), file=sys.stderr)
