"""Command dispatch: a command document in, a reply document out; never raises.

Also the handshake and diagnostic commands (hello, ping, buildInfo, serverStatus, ...).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from pymongo.errors import PyMongoError

from harness.mongowire import admin, crud
from harness.mongowire.codes import (
    BAD_VALUE,
    COMMAND_NOT_FOUND,
    COMMAND_NOT_SUPPORTED,
    INTERNAL_ERROR,
    INVALID_OPTIONS,
    CommandError,
)
from harness.mongowire.state import Call

logger = logging.getLogger(__name__)

Document = dict[str, Any]
Handler = Callable[[Call, Document], Document]

VERSION = "7.0.0-standin"
MAX_WIRE_VERSION = 21
MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
MAX_MESSAGE_SIZE_BYTES = 48_000_000
MAX_WRITE_BATCH_SIZE = 100_000


def hello_reply(call: Call, cmd: Document, *, legacy: bool) -> Document:
    """A standalone server's handshake answer (no replica set, no compression)."""
    reply: Document = {}
    if cmd.get("helloOk"):
        reply["helloOk"] = True
    reply.update(
        {
            "ismaster" if legacy else "isWritablePrimary": True,
            "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE,
            "maxMessageSizeBytes": MAX_MESSAGE_SIZE_BYTES,
            "maxWriteBatchSize": MAX_WRITE_BATCH_SIZE,
            "localTime": call.state.now(),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": call.connection_id,
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
            "ok": 1.0,
        }
    )
    return reply


def _hello(call: Call, cmd: Document) -> Document:
    return hello_reply(call, cmd, legacy=False)


def _is_master(call: Call, cmd: Document) -> Document:
    return hello_reply(call, cmd, legacy=True)


def _ok(call: Call, cmd: Document) -> Document:
    return {"ok": 1.0}


def _build_info(call: Call, cmd: Document) -> Document:
    return {
        "version": VERSION,
        "gitVersion": "standin",
        "versionArray": [7, 0, 0, 0],
        "bits": 64,
        "debug": False,
        "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE,
        "storageEngines": ["mongomock"],
        "modules": [],
        "ok": 1.0,
    }


def _get_parameter(call: Call, cmd: Document) -> Document:
    known: Document = {
        "featureCompatibilityVersion": {"version": "7.0"},
        "authenticationMechanisms": [],
        "maxBSONDepth": 100,
    }
    if cmd.get("getParameter") in ("*", {"allParameters": True}):
        return {**known, "ok": 1.0}
    reply = {k: v for k, v in known.items() if k in cmd}
    if not reply:
        raise CommandError(INVALID_OPTIONS, "no option found to get")
    return {**reply, "ok": 1.0}


def _server_status(call: Call, cmd: Document) -> Document:
    state = call.state
    uptime = state.uptime()
    return {
        "host": socket.gethostname(),
        "version": VERSION,
        "process": "mongod",
        "pid": os.getpid(),
        "uptime": float(int(uptime)),
        "uptimeMillis": int(uptime * 1000),
        "uptimeEstimate": int(uptime),
        "localTime": state.now(),
        "connections": {
            "current": state.connections_current,
            "available": 1000,
            "totalCreated": state.connections_total,
        },
        "ok": 1.0,
    }


def _connection_status(call: Call, cmd: Document) -> Document:
    return {"authInfo": {"authenticatedUsers": [], "authenticatedUserRoles": []}, "ok": 1.0}


def _unsupported(call: Call, cmd: Document) -> Document:
    raise CommandError(
        COMMAND_NOT_SUPPORTED, f"{next(iter(cmd))} is not supported by the MongoDB stand-in"
    )


HANDLERS: dict[str, Handler] = {
    "hello": _hello,
    "isMaster": _is_master,
    "ismaster": _is_master,
    "ping": _ok,
    "buildInfo": _build_info,
    "buildinfo": _build_info,
    "getParameter": _get_parameter,
    "serverStatus": _server_status,
    "connectionStatus": _connection_status,
    "endSessions": _ok,
    "startSession": _unsupported,
    "saslStart": _unsupported,
    "abortTransaction": _unsupported,
    "commitTransaction": _unsupported,
    "find": crud.find,
    "getMore": crud.get_more,
    "killCursors": crud.kill_cursors,
    "insert": crud.insert,
    "update": crud.update,
    "delete": crud.delete,
    "findAndModify": crud.find_and_modify,
    "findandmodify": crud.find_and_modify,
    "count": crud.count,
    "distinct": crud.distinct,
    "aggregate": crud.aggregate,
    "createIndexes": admin.create_indexes,
    "listIndexes": admin.list_indexes,
    "dropIndexes": admin.drop_indexes,
    "deleteIndexes": admin.drop_indexes,
    "create": admin.create,
    "drop": admin.drop,
    "listCollections": admin.list_collections,
    "listDatabases": admin.list_databases,
    "dropDatabase": admin.drop_database,
}


def run_command(call: Call, cmd: Document) -> Document:
    """Run one command document; every failure becomes an ``{ok: 0, ...}`` reply."""
    if not cmd:
        return CommandError(BAD_VALUE, "empty command document").reply()
    name = next(iter(cmd))
    handler = HANDLERS.get(name)
    if handler is None:
        logger.info("unknown command %r on db %r", name, call.db)
        return CommandError(COMMAND_NOT_FOUND, f"no such command: '{name}'").reply()
    try:
        return handler(call, cmd)
    except CommandError as exc:
        logger.debug("command %s failed: %s", name, exc.errmsg)
        return exc.reply()
    except PyMongoError as exc:  # mongomock raises pymongo's errors
        code = getattr(exc, "code", None) or BAD_VALUE
        logger.debug("command %s failed in mongomock: %s", name, exc)
        return CommandError(code, str(exc)).reply()
    except NotImplementedError as exc:
        logger.warning("command %s uses a feature the stand-in lacks: %s", name, exc)
        return CommandError(COMMAND_NOT_SUPPORTED, f"not supported by the stand-in: {exc}").reply()
    except Exception as exc:
        logger.exception("command %s raised", name)
        return CommandError(INTERNAL_ERROR, f"{type(exc).__name__}: {exc}").reply()


__all__ = ["HANDLERS", "MAX_WIRE_VERSION", "VERSION", "hello_reply", "run_command"]
