"""State shared by every connection of one stand-in server, and the per-command call context."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from typing import Any

import mongomock

from harness.mongowire.codes import INVALID_NAMESPACE, TYPE_MISMATCH, CommandError
from harness.mongowire.cursors import CursorRegistry

Document = dict[str, Any]


@dataclass
class ServerState:
    """One in-memory mongomock client (databases by name) and the open cursors."""

    client: mongomock.MongoClient[Document] = field(default_factory=mongomock.MongoClient)
    cursors: CursorRegistry = field(default_factory=CursorRegistry)
    started_monotonic: float = field(default_factory=time.monotonic)
    connections_current: int = 0
    connections_total: int = 0

    def uptime(self) -> float:
        return time.monotonic() - self.started_monotonic

    @staticmethod
    def now() -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True)
class Call:
    """Who runs a command, and against which database."""

    state: ServerState
    db: str
    connection_id: int

    def database(self) -> mongomock.Database[Document]:
        return self.state.client[self.db]

    def collection(self, name: str) -> mongomock.Collection[Document]:
        return self.state.client[self.db][name]

    def ns(self, name: str) -> str:
        return f"{self.db}.{name}"

    def collection_exists(self, name: str) -> bool:
        return name in self.database().list_collection_names()


def collection_name(cmd: Document, key: str) -> str:
    """The collection a command names in its first field; ``CommandError`` if not a name."""
    name = cmd.get(key)
    if not isinstance(name, str) or not name or "$" in name or name.startswith("."):
        raise CommandError(
            INVALID_NAMESPACE,
            f"collection name has invalid type {type(name).__name__}"
            if not isinstance(name, str)
            else f"Invalid namespace specified '{name}'",
        )
    return name


def get_document(cmd: Document, key: str, default: Document | None = None) -> Document:
    """An optional sub-document argument; ``CommandError`` if present and not an object."""
    value = cmd.get(key)
    if value is None:
        return {} if default is None else default
    if not isinstance(value, dict):
        raise CommandError(
            TYPE_MISMATCH,
            f"BSON field '{next(iter(cmd))}.{key}' is the wrong type "
            f"'{type(value).__name__}', expected type 'object'",
        )
    return value


def get_int(cmd: Document, key: str, default: int = 0) -> int:
    """An optional numeric argument as int; ``CommandError`` if present and not a number."""
    value = cmd.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CommandError(
            TYPE_MISMATCH,
            f"BSON field '{next(iter(cmd))}.{key}' is the wrong type "
            f"'{type(value).__name__}', expected a number",
        )
    return int(value)


__all__ = ["Call", "ServerState", "collection_name", "get_document", "get_int"]
