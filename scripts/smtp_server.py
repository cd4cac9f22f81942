"""Runs aiosmtpd's SMTP server on loopback for photoseal's mail tests: every message received is
written to --mailbox as <n>.eml (the envelope in <n>.json), and the process exits once
--watch-pid's process has ended. Usage: smtp_server.py --port P --mailbox DIR [--watch-pid PID]
"""
import argparse
import json
import os
import time

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--mailbox", required=True)
parser.add_argument("--watch-pid", type=int)
args = parser.parse_args()
os.makedirs(args.mailbox, exist_ok=True)


class Mailbox:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Mailbox.count += 1
        base = os.path.join(args.mailbox, "%d-%06d" % (os.getpid(), Mailbox.count))
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".tmp", base + ".eml")
        return "250 Message accepted for delivery"


controller = Controller(Mailbox(), hostname="127.0.0.1", port=args.port)
controller.start()
while True:
    time.sleep(0.5)
    if args.watch_pid:
        try:
            os.kill(args.watch_pid, 0)
        except ProcessLookupError:
            controller.stop()
            os._exit(0)
