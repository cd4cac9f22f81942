"""Run mongoeco's MongoDB wire-protocol server for photoseal's tests.

Started by scripts/mongo-test-server.sh inside the venv it creates. Prints the server's URI on
stdout (one line) once it accepts connections, then serves until SIGTERM or SIGINT.

It also works around a quirk of mongoeco 4.11 with libmongoc (see DESIGN.md): libmongoc sends
`getMore` and `batchSize` as typed BSON integers, which mongoeco keeps as BsonInt32/BsonInt64
wrappers and then rejects ("wire getMore cursor id must be an integer"), so every cursor longer
than one batch failed. The wrappers below turn those two values into plain ints before
mongoeco validates and executes the command.

A second quirk: mongoeco's SCRAM salt is the text "<db>:<user>", whose length varies, while
libmongoc insists on the salt length its SCRAM variant uses (16 bytes for SCRAM-SHA-1, 28 for
SCRAM-SHA-256) and refuses anything else ("invalid salt length"), so no login could succeed.
The launcher derives a salt of the right length from the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import sys

from mongoeco.core.bson_scalars import BsonInt32, BsonInt64
from mongoeco.wire import _executor_validation as validation
from mongoeco.wire import auth as wire_auth
from mongoeco.wire import cursors
from mongoeco.wire.auth import WireAuthUser
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

_GET_MORE_INT_KEYS = ("getMore", "batchSize")


def _plain_ints(command_document):
    """Returns the command with typed BSON integers under getMore/batchSize made plain ints."""
    if not isinstance(command_document, dict):
        return command_document
    fixed = None
    for key in _GET_MORE_INT_KEYS:
        value = command_document.get(key)
        if isinstance(value, (BsonInt32, BsonInt64)):
            if fixed is None:
                fixed = dict(command_document)
            fixed[key] = value.value
    return command_document if fixed is None else fixed


def _patch_get_more() -> None:
    original_validate = validation._validate_get_more

    def validate_get_more(body, command_document):
        return original_validate(body, _plain_ints(command_document))

    validation._validate_get_more = validate_get_more
    validation._WIRE_COMMAND_VALIDATORS["getMore"] = validate_get_more

    original_get_more = cursors.WireCursorStore.get_more

    def get_more(self, command_document, *args, **kwargs):
        return original_get_more(self, _plain_ints(command_document), *args, **kwargs)

    cursors.WireCursorStore.get_more = get_more


_SCRAM_SALT_BYTES = {"SCRAM-SHA-1": 16, "SCRAM-SHA-256": 28}


def _patch_scram_salt() -> None:
    original_build = wire_auth.build_scram_server_first

    def build_scram_server_first(*, client_nonce, mechanism, salt, iterations, server_nonce=None):
        size = _SCRAM_SALT_BYTES.get(mechanism)
        if size is not None and len(salt) != size:
            salt = hashlib.sha256(salt).digest()[:size]
        return original_build(
            client_nonce=client_nonce, mechanism=mechanism, salt=salt, iterations=iterations, server_nonce=server_nonce
        )

    wire_auth.build_scram_server_first = build_scram_server_first


def _engine(db_path: str | None):
    if db_path:
        from mongoeco.engines.sqlite import SQLiteEngine

        return SQLiteEngine(db_path)
    from mongoeco.engines.memory import MemoryEngine

    return MemoryEngine()


async def _serve(args: argparse.Namespace) -> None:
    users: tuple[WireAuthUser, ...] = ()
    if args.user:
        users = (WireAuthUser(username=args.user, password=args.password or "", source="admin"),)
    server = AsyncMongoEcoProxyServer(
        engine=_engine(args.db_path), host=args.host, port=args.port, auth_users=users
    )
    address = await server.start()
    print(f"mongodb://{address.host}:{address.port}/", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.watch_pid:
        loop.create_task(_watch(args.watch_pid, stop))
    try:
        await stop.wait()
    finally:
        await server.close()


async def _watch(pid: int, stop: asyncio.Event) -> None:
    """Sets `stop` once process `pid` is gone, so a crashed test run leaves no server behind."""
    while not stop.is_set():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
            return
        except PermissionError:
            pass
        await asyncio.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description="mongoeco wire server for photoseal tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--db-path", default=None, help="SQLite file (persists across restarts); default in memory")
    parser.add_argument("--user", default=None, help="require SCRAM auth as this user (auth source admin)")
    parser.add_argument("--password", default=None)
    parser.add_argument("--watch-pid", type=int, default=0, help="exit when this process ends")
    args = parser.parse_args()
    _patch_get_more()
    _patch_scram_salt()
    try:
        asyncio.run(_serve(args))
    except OSError as error:
        print(f"mongoeco_server: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
