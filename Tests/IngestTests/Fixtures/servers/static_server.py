"""Serves a folder over HTTP on loopback, for the web page and feed import tests.

Content types by extension (.html text/html, .rss application/rss+xml, .atom
application/atom+xml, .xml text/xml, .jpg image/jpeg); a missing file is a 404.
Usage: static_server.py --dir DIR [--watch-stdin]. Prints the port on stdout once listening.
"""
import argparse
import functools
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        ".html": "text/html; charset=utf-8", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
        ".xml": "text/xml", ".jpg": "image/jpeg", "": "application/octet-stream",
    }

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=args.dir))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    if args.watch_stdin:
        def watch():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
