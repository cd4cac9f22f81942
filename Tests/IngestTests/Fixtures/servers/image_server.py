#!/usr/bin/env python3
"""A local image CDN for photoseal's download tests and benchmark. Standard library only.

Serves the files of a directory and misbehaves on request, per URL:
  GET /img/NAME[?anything]            the file NAME (the query only makes URLs distinct)
  GET /f/KIND[xN]/NAME[?anything]     the first N requests of this exact URL (default 1) fail
                                      as KIND, later ones serve NAME. Transient KINDs:
                                        503, 429 (Retry-After: 1), reset (RST mid-body),
                                        trunc (Content-Length longer than the body, then FIN),
                                        stall (headers and a few bytes, then silence)
                                      Permanent KINDs (every request): 404, 410,
                                        placeholder (302 to /images/photo_unavailable.png),
                                        html (200 with an HTML page), redirect (302 to /img/NAME)
                                      Hostile KINDs (every request):
                                        dribble (Content-Length, then 2 bytes every 0.5 s for
                                          --dribble-seconds, then the rest at once),
                                        eofcut (no Content-Length, not chunked: half the body,
                                          then the connection closes),
                                        chunkcut (chunked: half the body, then the connection
                                          closes with no last chunk),
                                        gzip (Content-Encoding: gzip, Content-Length of the
                                          compressed body), eof (whole body, no length, close)
  GET /gzbomb/MIB                     a JPEG header then MIB MiB of zeros, gzip-encoded
  GET /big/MIB/NAME                   a generated JPEG of MIB MiB (SOI, a COM segment, filler
                                      scan data, EOI), made on the fly (never held whole)
  GET /images/photo_unavailable.png   the placeholder (a small PNG)
  GET /__log                          every request: {"path", "outcome", "sent", "complete", "t"}
  GET /__reset                        clears the log and the per-URL counters

Usage: image_server.py --dir DIR [--delay S] [--stall-seconds S] [--workers N] [--watch-stdin]
Prints the port on stdout once listening.
"""
import argparse
import gzip
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

PLACEHOLDER = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")

lock = threading.Lock()
log = []
counts = {}
cache = {}


def load(directory, name):
    if "/" in name or name.startswith("."):
        return None
    with lock:
        if name in cache:
            return cache[name]
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    with lock:
        cache[name] = data
    return data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def record(self, outcome, sent=0, complete=False):
        with lock:
            log.append({"path": self.path, "outcome": outcome, "sent": sent, "complete": complete,
                        "t": time.time()})

    def send_body(self, status, body, content_type, extra=None, length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        cfg = self.server.cfg
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if url.path == "/__log":
            with lock:
                body = json.dumps(log).encode()
            self.send_body(200, body, "application/json")
            return
        if url.path == "/__reset":
            with lock:
                log.clear()
                counts.clear()
            self.send_body(200, b"{}", "application/json")
            return
        if len(parts) == 2 and parts[0] == "gzbomb":
            self.gzip_bomb(int(parts[1]))
            return
        if len(parts) == 3 and parts[0] == "big":
            self.big_jpeg(int(parts[1]), parts[2])
            return
        if url.path == "/images/photo_unavailable.png":
            self.record("placeholder-image", len(PLACEHOLDER), True)
            self.send_body(200, PLACEHOLDER, "image/png")
            return
        if cfg.delay > 0:
            time.sleep(cfg.delay)
        kind, times, name = None, 1, None
        if len(parts) == 2 and parts[0] == "img":
            name = parts[1]
        elif len(parts) == 3 and parts[0] == "f":
            spec = parts[1]
            kind = spec.split("x")[0]
            if "x" in spec:
                times = int(spec.split("x")[1])
            name = parts[2]
        data = load(cfg.dir, name) if name else None
        if data is None:
            self.record("404")
            self.send_body(404, b"not found", "text/plain")
            return
        with lock:
            seen = counts.get(self.path, 0)
            counts[self.path] = seen + 1
        if kind in ("404", "410"):
            self.record(kind)
            self.send_body(int(kind), b"gone", "text/plain")
            return
        if kind == "placeholder":
            self.record("placeholder")
            self.send_body(302, b"", "text/plain", {"Location": "/images/photo_unavailable.png"})
            return
        if kind == "redirect":
            self.record("redirect")
            self.send_body(302, b"", "text/plain", {"Location": "/img/" + name})
            return
        if kind == "html":
            body = b"<html><body>This photo is no longer available</body></html>"
            self.record("html", len(body), True)
            self.send_body(200, body, "text/html")
            return
        if kind in ("dribble", "eofcut", "chunkcut", "gzip", "eof"):
            self.hostile(kind, data)
            return
        if kind is not None and seen < times:
            if kind == "503":
                self.record("503")
                self.send_body(503, b"busy", "text/plain")
                return
            if kind == "429":
                self.record("429")
                self.send_body(429, b"slow down", "text/plain", {"Retry-After": "1"})
                return
            half = data[: len(data) // 2]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if kind == "stall":
                self.wfile.write(data[:100])
                self.wfile.flush()
                self.record("stall", 100)
                time.sleep(cfg.stall_seconds)
            else:
                self.wfile.write(half)
                self.wfile.flush()
                self.record(kind, len(half))
                if kind == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
            self.record("ok", len(data), True)
        except OSError:
            self.record("client-gone", 0)
            self.close_connection = True


    def hostile(self, kind, data):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        try:
            if kind == "dribble":
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.record("dribble", 0)
                end = time.time() + self.server.cfg.dribble_seconds
                sent = 0
                while time.time() < end and sent < len(data):
                    self.wfile.write(data[sent:sent + 2])
                    self.wfile.flush()
                    sent += 2
                    time.sleep(0.5)
                self.wfile.write(data[sent:])
                self.wfile.flush()
                self.record("dribble-done", len(data), True)
            elif kind in ("eofcut", "eof"):
                self.send_header("Connection", "close")
                self.end_headers()
                body = data if kind == "eof" else data[: len(data) // 2]
                self.wfile.write(body)
                self.wfile.flush()
                self.record(kind, len(body), kind == "eof")
            elif kind == "chunkcut":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                half = data[: len(data) // 2]
                self.wfile.write(b"%x\r\n" % len(half) + half + b"\r\n")
                self.wfile.flush()
                self.record("chunkcut", len(half))
            elif kind == "gzip":
                body = gzip.compress(data)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                self.record("gzip", len(body), True)
        except OSError:
            self.record("client-gone", 0)
        self.close_connection = True

    def gzip_bomb(self, mib):
        # Streamed as it is compressed (about 1 KiB a MiB, flushed each MiB), delimited by the
        # connection's close: compressing 64 MiB takes seconds on a loaded machine, and a body
        # held back that long would trip a client's low-speed limit before its size cap.
        import zlib
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            chunk = packer.compress(bytes.fromhex("ffd8ffe000104a46494600010100000100010000"))
            for _ in range(mib):
                chunk += packer.compress(zeros) + packer.flush(zlib.Z_SYNC_FLUSH)
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                chunk = b""
            chunk = packer.flush()
            self.wfile.write(chunk)
            self.wfile.flush()
            self.record("gzbomb", sent + len(chunk), True)
        except OSError:
            self.record("client-gone", 0)
        self.close_connection = True

    def big_jpeg(self, mib, name):
        # A baseline 8x8 grey JPEG's header, a comment, then filler in the scan (0x00 bytes
        # decode as nothing sensible but parse: no marker inside), then EOI.
        head = bytes.fromhex(
            "ffd8ffe000104a46494600010100000100010000"
            "ffdb004300" + "01" * 64 +
            "ffc0000b080008000801011100"
            "ffc4001f0000010501010101010100000000000000000102030405060708090a0b"
            "ffda0008010100003f00")
        # A comment naming the file right after SOI: every NAME is a distinct image.
        comment = name.encode()[:200]
        head = head[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + head[2:]
        tail = bytes.fromhex("ffd9")
        total = mib << 20
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            self.wfile.write(head)
            left = total - len(head) - len(tail)
            block = bytes(1 << 20)
            while left > 0:
                n = min(left, len(block))
                self.wfile.write(block[:n])
                left -= n
            self.wfile.write(tail)
            self.wfile.flush()
            self.record("big", total, True)
        except OSError:
            self.record("client-gone", 0)
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # A client that hangs up mid-answer is part of the tests (kills, cancellations): say
        # nothing. Anything else is a fixture bug and keeps its traceback.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--stall-seconds", type=float, default=3.0)
    parser.add_argument("--dribble-seconds", type=float, default=30.0)
    parser.add_argument("--watch-stdin", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the socket (benchmarks; the log is per process)")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.cfg = args
    children = []
    for _ in range(max(0, args.workers - 1)):
        pid = os.fork()
        if pid == 0:
            children = None
            break
        children.append(pid)
    if children:
        import signal

        def stop(*_):
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os._exit(0)

        signal.signal(signal.SIGTERM, stop)
    if children is None:
        # A worker: exit when the parent is gone.
        parent = os.getppid()

        def orphan_watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=orphan_watch, daemon=True).start()
        server.serve_forever()
        return
    print(server.server_address[1], flush=True)
    # Close inherited descriptors so a test runner waiting on pipes is not held open.
    sys.stdout.close()
    if args.watch_stdin:
        def watch():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
