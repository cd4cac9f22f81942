#!/usr/bin/env python3
"""A local stand-in for Google Cloud Vision `images:annotate`, for photoseal's tests.

Standard library only. Answers label detection deterministically from the image bytes and
misbehaves on purpose: the 16-images-per-call limit (HTTP 400 over it), per-image errors for
chosen images, bursts of HTTP 429/503, a wrong key (HTTP 400 "API key not valid"), and calls
that hang (to kill a client mid-run). It bills like the real service: one unit per image per
feature asked for, for every image answered without an error of its own.

Usage: vision_server.py [--api-key K] [--labels FILE] [--watch-stdin]
  --labels FILE   JSON {"labels": {sha256: [{"description", "score", "mid"}...]},
                        "errors": {sha256: times | {"times", "code", "message"}}}  -- an image
                  in "errors" gets a per-image error on its first `times` requests: code 3
                  "Bad image data." (the image itself refused) unless another code and
                  message are given (e.g. 14 "Service unavailable.", a transient one).
                  Images not listed get labels derived from their SHA-256.
A call with an empty `requests` list (photoseal's key check) is answered as Google does,
HTTP 200 `{}` with a valid key and 400 "API key not valid" with a wrong one; it bills nothing
and is recorded in /__checks, not /__log, and never draws a burst or a hang.
Prints the port on stdout once listening. Test endpoints:
  GET /__log      every annotate call with images: {"status", "images": [{"sha256", "features"}], "billed"}
  GET /__checks   every call with no image: [{"status"}]
  GET /__billed   {sha256: units billed}
  GET /__config   ?burst=N&burst_status=S   the next N calls answer S (429 or 503)
                  ?hang_after=K   calls after the next K admitted calls hang until hang_after=-1,
                                  then answer 503 unbilled
  GET /__reset    forget the log, the checks and the billing
"""
import argparse
import base64
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

WORDS = ["Animal", "Plant", "Sky", "Building", "Water", "Vehicle", "Food", "Tree", "Cabinet", "Internet"]

lock = threading.Lock()
state = {"log": [], "checks": [], "billed": {}, "burst": 0, "burst_status": 503, "hang_after": -1, "ok_calls": 0, "admitted": 0,
         "errors_seen": {}}
release = threading.Event()
release.set()
config = {"api_key": "test-vision-key", "labels": {}, "errors": {}}


def derived_labels(sha):
    n = int(sha[:8], 16)
    first = WORDS[n % len(WORDS)]
    second = WORDS[(n // 7) % len(WORDS)]
    out = [{"mid": "/m/%s" % sha[:5], "description": first, "score": round(0.5 + (n % 50) / 100, 4),
            "topicality": 0.5}]
    if second != first:
        out.append({"mid": "/m/%s" % sha[5:10], "description": second, "score": 0.55, "topicality": 0.5})
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed while its call was held

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        with lock:
            if url.path == "/__log":
                return self.send_json(200, state["log"])
            if url.path == "/__checks":
                return self.send_json(200, state["checks"])
            if url.path == "/__billed":
                return self.send_json(200, state["billed"])
            if url.path == "/__reset":
                state["log"] = []
                state["checks"] = []
                state["billed"] = {}
                state["ok_calls"] = 0
                return self.send_json(200, {})
            if url.path == "/__config":
                if "burst" in q:
                    state["burst"] = int(q["burst"][0])
                if "burst_status" in q:
                    state["burst_status"] = int(q["burst_status"][0])
                if "hang_after" in q:
                    state["hang_after"] = int(q["hang_after"][0])
                    state["admitted"] = 0
                    if state["hang_after"] < 0:
                        release.set()
                    else:
                        release.clear()
                return self.send_json(200, {})
        self.send_json(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not url.path.endswith("images:annotate"):
            return self.send_json(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
        key = parse_qs(url.query).get("key", [""])[0]
        try:
            empty = json.loads(raw).get("requests") == []
        except Exception:
            empty = False
        if key != config["api_key"]:
            with lock:
                if empty:
                    state["checks"].append({"status": 400})
                else:
                    state["log"].append({"status": 400, "images": [], "billed": 0})
            message = "API key not valid. Please pass a valid API key."
            if config.get("echo_key"):
                # Like servers that echo what they were sent: the client must scrub it.
                message = "API key not valid. The key you sent (%s) is invalid" % key
            return self.send_json(400, {"error": {
                "code": 400, "message": message,
                "status": "INVALID_ARGUMENT"}})
        if empty:
            # Nothing to label, nothing to bill: proto3 JSON leaves the empty list out.
            with lock:
                state["checks"].append({"status": 200})
            return self.send_json(200, {})
        try:
            requests = json.loads(raw)["requests"]
            images = []
            for r in requests:
                data = base64.b64decode(r["image"]["content"], validate=True)
                images.append((hashlib.sha256(data).hexdigest(), [f["type"] for f in r.get("features", [])]))
        except Exception:
            return self.send_json(400, {"error": {"code": 400, "message": "Invalid JSON payload.",
                                                  "status": "INVALID_ARGUMENT"}})
        entry = {"status": 200, "images": [{"sha256": s, "features": f} for s, f in images], "billed": 0}
        if len(requests) > 16:
            entry["status"] = 400
            with lock:
                state["log"].append(entry)
            return self.send_json(400, {"error": {
                "code": 400, "message": "Too many images: at most 16 per request.", "status": "INVALID_ARGUMENT"}})
        with lock:
            hang = False
            if state["burst"] > 0:
                state["burst"] -= 1
                entry["status"] = state["burst_status"]
                state["log"].append(entry)
                status = state["burst_status"]
            else:
                status = None
                # Counted on arrival, so exactly `hang_after` calls are answered however many
                # are in flight.
                state["admitted"] += 1
                hang = state["hang_after"] >= 0 and state["admitted"] > state["hang_after"]
        if status is not None:
            return self.send_json(status, {"error": {"code": status, "message": "try again later",
                                                     "status": "UNAVAILABLE"}})
        if hang:
            release.wait()
            entry["status"] = 503
            with lock:
                state["log"].append(entry)
            return self.send_json(503, {"error": {"code": 503, "message": "unavailable", "status": "UNAVAILABLE"}})
        responses = []
        with lock:
            for sha, features in images:
                seen = state["errors_seen"].get(sha, 0)
                fault = config["errors"].get(sha, 0)
                if not isinstance(fault, dict):
                    fault = {"times": fault}
                if seen < fault.get("times", 0):
                    state["errors_seen"][sha] = seen + 1
                    responses.append({"error": {"code": fault.get("code", 3),
                                                "message": fault.get("message", "Bad image data.")}})
                    continue
                state["billed"][sha] = state["billed"].get(sha, 0) + len(features)
                entry["billed"] += len(features)
                labels = config["labels"].get(sha)
                if labels is None:
                    labels = derived_labels(sha)
                responses.append({"labelAnnotations": labels} if labels else {})
            state["ok_calls"] += 1
            state["log"].append(entry)
        self.send_json(200, {"responses": responses})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-key", default="test-vision-key")
    parser.add_argument("--labels")
    parser.add_argument("--watch-stdin", action="store_true")
    parser.add_argument("--echo-key", action="store_true", help="a bad key's message repeats the key sent")
    args = parser.parse_args()
    config["api_key"] = args.api_key
    config["echo_key"] = args.echo_key
    if args.labels:
        with open(args.labels) as f:
            data = json.load(f)
        config["labels"] = data.get("labels", {})
        config["errors"] = data.get("errors", {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    # Close the inherited stdout so a parent waiting on the pipe is not held by this process.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if args.watch_stdin:
        def watch():
            while sys.stdin.buffer.read(1):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
