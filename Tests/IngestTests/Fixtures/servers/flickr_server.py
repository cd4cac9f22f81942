#!/usr/bin/env python3
"""A local stand-in for Flickr's REST API (flickr.photos.search and flickr.test.echo), for photoseal's tests.

Standard library only. Serves a deterministic synthetic dataset and misbehaves on purpose:
the 4,000-result cap (pages past it repeat the last reachable page while `total` shows the
truth), `total` sometimes as a string, numbers as strings, code 105, HTTP 429 with Retry-After
and 503, dropped connections, slow answers, and a rate-limit detector that answers 429 to calls
over the budget and records them.

Usage: flickr_server.py [--photos N] [--seed S] [--api-key K] [--fail-fraction F]
                        [--slow-fraction F] [--slow-seconds S] [--per-second N] [--per-hour N]
                        [--image-server URL [--all-available]] [--all-terms] [--watch-stdin]
  --image-server URL  photos' url_l point at a local image server: URL/img/<id>.jpg, except every
                      photo whose id ends in 3, which points at URL/f/placeholder/<id>.jpg
                      (Flickr's "photo unavailable"); /__truth then lists the available ids
  --all-available     with --image-server: no placeholders, every photo at URL/img/<id>.jpg
                      (throughput runs: the pipeline benchmark)
  --all-terms         every photo carries every term, so one term finds all --photos N
flickr.test.echo answers as Flickr does: with a valid key, stat ok and the parameters echoed
(api_key left out); with a wrong key, code 100 "Invalid API Key". It counts against the rate
budget and is logged like any call, but never draws an injected failure.
Prints the port on stdout once listening. Test endpoints:
  GET /__log       every API call: params (api_key removed), outcome, time
  GET /__truth     ?term=...&term=...&bbox=...&min_taken_date=...&max_taken_date=...
                   -> {"photos": {id: [terms]}, "totals": {term: n}} by a plain filter
                      (+ "available": [ids] with --image-server)
  GET /__personal  -> every owner, owner name and path alias in the dataset
  GET /__photo     ?id=... -> the dataset's record of one photo
  GET /__slow      ?seconds=S -> answers after S seconds (for concurrency checks)
  POST anything    -> {"length", "body", "content-type"} of what was posted
  GET /__echo      -> the request headers as JSON (gzip-compressed when accepted)
  GET /__slow_max  -> the most /__slow requests that were in flight at once
  GET /__config    ?fail_fraction=..&slow_fraction=..&per_second=..  change fault settings
"""
import argparse
import bisect
import calendar
import gzip
import json
import os
import random
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TERMS = [("monkey", 0.55), ("scimmia", 0.40), ("猴子", 0.35)]
BBOX = (5.0, 35.0, 20.0, 48.0)  # the box most geotagged photos fall in
CAP = 4000


def unix(y, mo, d, h=0, mi=0, s=0):
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def fmt(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def parse_date(text):
    text = text.strip()
    if text.isdigit():
        return int(text)
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


# Set from the command line in main().
ALL_TERMS = False
ALL_AVAILABLE = False


def make_dataset(n, seed):
    rng = random.Random(seed)
    start, end = unix(2004, 1, 1), unix(2024, 12, 31, 23, 59, 59)
    busy_start, busy_end = unix(2019, 1, 1), unix(2021, 12, 31)
    photos = []
    for i in range(n):
        pid = str(52000000000 + i * 7 + rng.randrange(7))
        terms = [t for t, p in TERMS if rng.random() < p]
        if ALL_TERMS:
            terms = [t for t, _ in TERMS]
        if rng.random() < 0.25:
            taken = rng.randrange(busy_start, busy_end)
        else:
            taken = rng.randrange(start, end)
        g = rng.random()
        if g < 0.72:
            lat, lon = rng.uniform(BBOX[1], BBOX[3]), rng.uniform(BBOX[0], BBOX[2])
        elif g < 0.86:
            lat, lon = rng.uniform(-40, 30), rng.uniform(100, 179.9)
        else:
            lat, lon = 0, 0
        o = rng.randrange(1500)
        photos.append({
            "id": pid,
            "owner": "%d@N%02d" % (40000000 + o * 13, o % 7),
            "ownername": "Fotografa %d Ñandú" % o if o % 3 else "写真家 %d" % o,
            "pathalias": ("walker%dtrail" % o) if o % 4 else "",
            "secret": "%010x" % rng.getrandbits(40),
            "server": str(65535 - i % 1000),
            "title": "%s %d" % (" / ".join(terms) or "landscape", i),
            "description": "A photo (%d) with %s" % (i, ", ".join(terms) or "nothing"),
            "terms": terms,
            "taken": taken,
            "upload": taken + rng.randrange(0, 86400 * 400),
            "lat": round(lat, 6), "lon": round(lon, 6),
            "accuracy": rng.randrange(1, 17),
            "views": rng.randrange(0, 100000),
            "license": str(rng.randrange(0, 11)),
            "tags": " ".join(terms + ["nature"]),
        })
    photos.sort(key=lambda p: (p["taken"], p["id"]))
    return photos


class State:
    def __init__(self, args):
        self.args = args
        self.photos = make_dataset(args.photos, args.seed)
        for p in self.photos:
            p["folded"] = frozenset(t.casefold() for t in p["terms"])
        self.taken = [p["taken"] for p in self.photos]
        self.lock = threading.Lock()
        self.log = []
        self.rng = random.Random(args.seed + 1)
        self.recent = deque()
        self.hour = deque()
        self.slow_now = 0
        self.slow_max = 0
        self.failures = 0  # failure kinds take turns, so every kind shows up
        self.fail_fraction = args.fail_fraction
        self.slow_fraction = args.slow_fraction
        self.slow_seconds = args.slow_seconds
        self.per_second = args.per_second
        self.per_hour = args.per_hour

    def matches(self, text, bbox, lo, hi):
        out = []
        start = bisect.bisect_left(self.taken, lo) if lo is not None else 0
        stop = bisect.bisect_right(self.taken, hi) if hi is not None else len(self.photos)
        folded = text.casefold() if text is not None else None
        for p in self.photos[start:stop]:
            if folded is not None and folded not in p["folded"]:
                continue
            if bbox is not None:
                if p["lat"] == 0 and p["lon"] == 0:
                    continue
                if not (bbox[0] <= p["lon"] <= bbox[2] and bbox[1] <= p["lat"] <= bbox[3]):
                    continue
            if lo is not None and p["taken"] < lo:
                continue
            if hi is not None and p["taken"] > hi:
                continue
            out.append(p)
        return out


def available(p):
    return ALL_AVAILABLE or not p["id"].endswith("3")


def photo_json(p, extras, rng, image_server=None):
    d = {"id": p["id"], "owner": p["owner"], "secret": p["secret"], "server": p["server"], "farm": 66,
         "title": p["title"], "ispublic": 1, "isfriend": 0, "isfamily": 0}
    if "description" in extras:
        d["description"] = {"_content": p["description"]}
    if "license" in extras:
        d["license"] = p["license"]
    if "date_upload" in extras:
        d["dateupload"] = str(p["upload"])
    if "date_taken" in extras:
        d["datetaken"] = fmt(p["taken"])
        d["datetakengranularity"] = 0
    if "owner_name" in extras:
        d["ownername"] = p["ownername"]
    if "views" in extras:
        d["views"] = str(p["views"]) if rng.random() < 0.5 else p["views"]
    if "tags" in extras:
        d["tags"] = p["tags"]
    if "machine_tags" in extras:
        d["machine_tags"] = ""
    if "geo" in extras:
        if p["lat"] == 0 and p["lon"] == 0:
            d.update({"latitude": 0, "longitude": 0, "accuracy": 0})
        else:
            d.update({"latitude": str(p["lat"]), "longitude": p["lon"], "accuracy": str(p["accuracy"])})
    if "path_alias" in extras:
        d["pathalias"] = p["pathalias"] or None
    if "media" in extras:
        d["media"] = "photo"
    if "url_l" in extras:
        if image_server:
            kind = "img" if available(p) else "f/placeholder"
            d["url_l"] = "%s/%s/%s.jpg" % (image_server, kind, p["id"])
        else:
            d["url_l"] = "https://live.staticflickr.com/%s/%s_%s_b.jpg" % (p["server"], p["id"], p["secret"])
        d["height_l"], d["width_l"] = "768", 1024
    return d


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, obj, status=200, headers=None):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        # Echoes what was posted, for the HTTP engine's tests (and a future vision stand-in).
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        return self.send_json({"length": len(body), "body": body.decode("utf-8", "replace"),
                               "content-type": self.headers.get("Content-Type")})

    def do_GET(self):
        st = self.server.state
        url = urlparse(self.path)
        q = parse_qs(url.query, keep_blank_values=True)
        one = {k: v[-1] for k, v in q.items()}
        if url.path == "/__log":
            with st.lock:
                return self.send_json(list(st.log))
        if url.path == "/__personal":
            vals = set()
            for p in st.photos:
                vals.update(v for v in (p["owner"], p["ownername"], p["pathalias"]) if v)
            return self.send_json(sorted(vals))
        if url.path == "/__photo":
            for p in st.photos:
                if p["id"] == one.get("id"):
                    return self.send_json({k: v for k, v in p.items() if k != "folded"})
            return self.send_json({}, 404)
        if url.path == "/__slow":
            with st.lock:
                st.slow_now += 1
                st.slow_max = max(st.slow_max, st.slow_now)
            time.sleep(float(one.get("seconds", "0.5")))
            with st.lock:
                st.slow_now -= 1
            return self.send_json({"slept": one.get("seconds", "0.5")})
        if url.path == "/__echo":
            # The request's headers, gzip-compressed when the client accepts it.
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            gz = "gzip" in (self.headers.get("Accept-Encoding") or "")
            if gz:
                body = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if gz:
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if url.path == "/__slow_max":
            with st.lock:
                return self.send_json({"max_in_flight": st.slow_max})
        if url.path == "/__config":
            with st.lock:
                for key in ("fail_fraction", "slow_fraction", "slow_seconds", "per_second", "per_hour"):
                    if key in one:
                        setattr(st, key, float(one[key]))
            return self.send_json({"ok": True})
        if url.path == "/__truth":
            bbox = tuple(float(x) for x in one["bbox"].split(",")) if "bbox" in one else None
            lo = parse_date(one["min_taken_date"]) if "min_taken_date" in one else None
            hi = parse_date(one["max_taken_date"]) if "max_taken_date" in one else None
            found, totals = {}, {}
            for term in q.get("term", []):
                if bbox is not None and bbox[0] > bbox[2]:
                    # Across the antimeridian: east of minlon or west of maxlon.
                    ms = [p for p in st.matches(term, None, lo, hi)
                          if not (p["lat"] == 0 and p["lon"] == 0) and bbox[1] <= p["lat"] <= bbox[3]
                          and (p["lon"] >= bbox[0] or p["lon"] <= bbox[2])]
                else:
                    ms = st.matches(term, bbox, lo, hi)
                totals[term] = len(ms)
                for p in ms:
                    found.setdefault(p["id"], []).append(term)
            answer = {"photos": found, "totals": totals}
            if st.args.image_server:
                answer["available"] = sorted(i for i in found if ALL_AVAILABLE or not i.endswith("3"))
            return self.send_json(answer)
        if url.path.rstrip("/") != "/services/rest":
            return self.send_json({"stat": "fail", "code": 404, "message": "not found"}, status=404)
        return self.api(st, one)

    def api(self, st, one):
        params = {k: v for k, v in one.items() if k != "api_key"}
        now = time.time()
        entry = {"t": now, "params": params, "outcome": "ok"}
        with st.lock:
            st.log.append(entry)
            st.recent.append(now)
            st.hour.append(now)
            while st.recent and st.recent[0] <= now - 1.0:
                st.recent.popleft()
            while st.hour and st.hour[0] <= now - 3600:
                st.hour.popleft()
            over = len(st.recent) > st.per_second or len(st.hour) > st.per_hour
            r = st.rng.random()
            kind = st.failures % 5
            slow = st.rng.random() < st.slow_fraction
        if over:
            entry["outcome"] = "rate-429"
            return self.send_json({"stat": "fail", "code": 429, "message": "Too Many Requests"}, 429,
                                  {"Retry-After": "1"})
        if one.get("api_key") != st.args.api_key:
            entry["outcome"] = "bad-key"
            message = "Invalid API Key (Key not found)"
            if st.args.echo_key:
                # Like servers that echo what they were sent: the client must scrub it.
                message = "The key you sent (%s) is invalid" % one.get("api_key")
            return self.send_json({"stat": "fail", "code": 100, "message": message})
        if one.get("method") == "flickr.test.echo":
            echoed = {k: {"_content": v} for k, v in params.items()}
            echoed["stat"] = "ok"
            return self.send_json(echoed)
        if one.get("method") != "flickr.photos.search":
            entry["outcome"] = "bad-method"
            return self.send_json({"stat": "fail", "code": 112, "message": "Method \"%s\" not found" % one.get("method")})
        if r < st.fail_fraction:
            with st.lock:
                st.failures += 1
            entry["outcome"] = ["fail-503", "fail-429", "fail-105", "fail-drop", "fail-500"][kind]
            if kind == 0:
                return self.send_json({"error": "unavailable"}, 503)
            if kind == 1:
                return self.send_json({"error": "slow down"}, 429, {"Retry-After": "1"})
            if kind == 2:
                return self.send_json({"stat": "fail", "code": 105, "message": "Service currently unavailable"})
            if kind == 3:
                self.close_connection = True
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"stat\":")
                self.wfile.flush()
                return
            return self.send_json({"error": "boom"}, 500)
        if slow:
            entry["slow"] = True
            time.sleep(st.slow_seconds)
        text = one.get("text") or None
        bbox = None
        if "bbox" in one:
            try:
                bbox = tuple(float(x) for x in one["bbox"].split(","))
                assert len(bbox) == 4 and bbox[0] < bbox[2] and bbox[1] < bbox[3]
            except Exception:
                entry["outcome"] = "bad-bbox"
                return self.send_json({"stat": "fail", "code": 4, "message": "Not a valid bbox"})
        lo = parse_date(one["min_taken_date"]) if "min_taken_date" in one else None
        hi = parse_date(one["max_taken_date"]) if "max_taken_date" in one else None
        if text is None and bbox is None:
            entry["outcome"] = "parameterless"
            return self.send_json({"stat": "fail", "code": 3, "message": "Parameterless searches have been disabled."})
        per_page = min(int(one.get("per_page", 100)), 250 if bbox else 500)
        page = max(1, int(one.get("page", 1)))
        ms = st.matches(text, bbox, lo, hi)
        if one.get("sort", "date-posted-desc") != "date-taken-asc":
            ms = sorted(ms, key=lambda p: (-p["upload"], p["id"]))
        total = len(ms)
        reachable = min(total, CAP)
        last_page = max(1, (reachable + per_page - 1) // per_page)
        served = min(page, last_page)
        chunk = ms[(served - 1) * per_page: min(served * per_page, reachable)]
        extras = set((one.get("extras") or "").split(","))
        rng = random.Random(hash((text, page)))
        entry["total"] = total
        body = {"photos": {"page": page, "pages": (total + per_page - 1) // per_page, "perpage": per_page,
                           "total": str(total) if page % 2 == 0 else total,
                           "photo": [photo_json(p, extras, rng, st.args.image_server) for p in chunk]}, "stat": "ok"}
        return self.send_json(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=24000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--api-key", default="test-api-key-0123456789")
    ap.add_argument("--fail-fraction", type=float, default=0.0)
    ap.add_argument("--slow-fraction", type=float, default=0.0)
    ap.add_argument("--slow-seconds", type=float, default=0.5)
    ap.add_argument("--per-second", type=float, default=6)
    ap.add_argument("--per-hour", type=float, default=3600)
    ap.add_argument("--image-server", default=None)
    ap.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes (tests)")
    ap.add_argument("--all-available", action="store_true")
    ap.add_argument("--echo-key", action="store_true", help="a bad key's message repeats the key sent")
    ap.add_argument("--all-terms", action="store_true")
    args = ap.parse_args()
    global ALL_TERMS, ALL_AVAILABLE
    ALL_TERMS, ALL_AVAILABLE = args.all_terms, args.all_available
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print(server.server_address[1], flush=True)

    def watch_stdin():
        # The test holds our stdin open; when it closes (the test ended or crashed), stop.
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except Exception:
            pass
        os._exit(0)

    if args.watch_stdin:
        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
