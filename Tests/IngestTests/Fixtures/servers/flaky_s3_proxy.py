"""A proxy in front of an S3 server that fails some requests once, as S3 does under load.

The first GET of every object named <number>.<ext> whose number is a multiple of --every,
and the first ListObjectsV2 call, get a 503 SlowDown error document; every other request is
passed to --upstream unchanged (the Host header too, so SigV4 signatures made for the proxy's
address still verify upstream). GET /__stats answers {"injected": N, "forwarded": M}.

Usage: flaky_s3_proxy.py --upstream http://127.0.0.1:PORT [--every K] [--watch-stdin]
Prints the port on stdout once listening.
"""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
seen = set()
stats = {"injected": 0, "forwarded": 0}
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b'<Message>Please reduce your request rate.</Message></Error>')


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def should_fail(self):
        path, _, query = self.path.partition("?")
        key = (self.command, self.path)
        with lock:
            if key in seen:
                return False
            seen.add(key)
        if self.command == "GET" and "list-type=2" in query and "continuation-token" not in query:
            return True
        number = re.search(r"/(\d+)\.[a-z]+$", urllib.parse.unquote(path))
        return self.command == "GET" and bool(number) and int(number.group(1)) % self.server.every == 0

    def handle_any(self):
        if self.path == "/__stats":
            body = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.should_fail():
            with lock:
                stats["injected"] += 1
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        with lock:
            stats["forwarded"] += 1
        upstream = urllib.parse.urlsplit(self.server.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--every", type=int, default=7)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.upstream = args.upstream
    server.every = args.every
    print(server.server_address[1], flush=True)
    if args.watch_stdin:
        def watch():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
