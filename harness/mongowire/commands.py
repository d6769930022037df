"""Command dispatch: a command document in, a reply document out; never raises.

Also the handshake and diagnostic commands (hello, ping, buildInfo, serverStatus, ...).

System collections are read-only (``system_write_refusal``), answered as mongod answers:
a write to the ``admin`` database's ``system.*`` collections (users, roles, version: what
only a privileged user may write) is ``13 Unauthorized``, as from a mongod with
authorization on to a client without the privilege (the stand-in authenticates nobody);
a write to any other ``system.*`` collection is ``73 InvalidNamespace`` ("Invalid system
namespace", mongod's answer for namespaces reserved for internal use); dropping the
``admin`` database is ``20 IllegalOperation``. Writes are the write commands, index and
collection commands, and ``aggregate`` with ``$out`` / ``$merge``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any, Final

from pymongo.errors import PyMongoError

from harness.mongowire import admin, crud
from harness.mongowire.codes import (
    BAD_VALUE,
    COMMAND_NOT_FOUND,
    COMMAND_NOT_SUPPORTED,
    ILLEGAL_OPERATION,
    INTERNAL_ERROR,
    INVALID_NAMESPACE,
    INVALID_OPTIONS,
    UNAUTHORIZED,
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


ADMIN_DB: Final = "admin"
SYSTEM_PREFIX: Final = "system."

WRITE_COMMANDS: Final = frozenset({
    "insert", "update", "delete", "findAndModify", "findandmodify",
    "createIndexes", "dropIndexes", "deleteIndexes", "create", "drop",
})
"""Commands that write to the collection named by their first field."""


def _write_targets(call: Call, name: str, cmd: Document) -> list[tuple[str, Any]]:
    """(database, collection) pairs that command ``name`` would write to."""
    if name in WRITE_COMMANDS:
        return [(call.db, cmd.get(name))]
    if name != "aggregate" or not isinstance(cmd.get("pipeline"), list):
        return []
    targets: list[tuple[str, Any]] = []
    for stage in cmd["pipeline"]:
        if not isinstance(stage, dict):
            continue
        for operator in ("$out", "$merge"):
            target = stage.get(operator)
            if isinstance(target, dict) and operator == "$merge":
                target = target.get("into")
            if isinstance(target, dict):  # {db, coll}
                db = target.get("db")
                targets.append((db if isinstance(db, str) else call.db, target.get("coll")))
            elif target is not None:
                targets.append((call.db, target))
    return targets


def system_write_refusal(call: Call, name: str, cmd: Document) -> CommandError | None:
    """The refusal of a command that would write to a system collection (or drop the
    ``admin`` database), or None."""
    if name == "dropDatabase" and call.db == ADMIN_DB:
        return CommandError(ILLEGAL_OPERATION, "Dropping the 'admin' database is prohibited.")
    for db, collection in _write_targets(call, name, cmd):
        if not isinstance(collection, str) or not collection.startswith(SYSTEM_PREFIX):
            continue
        if db == ADMIN_DB:
            return CommandError(UNAUTHORIZED,
                                f"not authorized on {db} to execute command {{ {name}: "
                                f"\"{collection}\" }}: system collections are read-only")
        return CommandError(INVALID_NAMESPACE, f"Invalid system namespace: {db}.{collection}")
    return None


def run_command(call: Call, cmd: Document) -> Document:
    """Run one command document; every failure becomes an ``{ok: 0, ...}`` reply."""
    if not cmd:
        return CommandError(BAD_VALUE, "empty command document").reply()
    name = next(iter(cmd))
    handler = HANDLERS.get(name)
    if handler is None:
        logger.info("unknown command %r on db %r", name, call.db)
        return CommandError(COMMAND_NOT_FOUND, f"no such command: '{name}'").reply()
    refusal = system_write_refusal(call, name, cmd)
    if refusal is not None:
        logger.info("refused %s on db %r: %s", name, call.db, refusal.errmsg)
        return refusal.reply()
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


__all__ = ["HANDLERS", "MAX_WIRE_VERSION", "VERSION", "WRITE_COMMANDS", "hello_reply",
           "run_command", "system_write_refusal"]
