"""Runs moto's S3 server in this process (moto.server.ThreadedMotoServer) on loopback, and exits
once --watch-pid's process has ended, so a test run that dies leaves no server behind.
The caller sets INITIAL_NO_AUTH_ACTION_COUNT (scripts/moto-server.sh). Usage:
moto_server.py --port P [--watch-pid PID]
"""
import argparse
import os
import time

from moto.server import ThreadedMotoServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--watch-pid", type=int)
args = parser.parse_args()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
server.start()
while True:
    time.sleep(1)
    if args.watch_pid:
        try:
            os.kill(args.watch_pid, 0)
        except ProcessLookupError:
            server.stop()
            os._exit(0)
