"""The world as JSON: the stable, documented form users paste and tools read (docs/seed.md).

``world_to_dict``/``world_to_json`` write it; ``world_from_dict``/``load_world_file``
read it back and name the field (``users[0].token``) when something is wrong.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar

from harness.errors import SpecError
from harness.protocol import is_object_id
from seed.runid import check_run_id
from seed.spec import spec_from_dict, spec_to_dict
from seed.world import (
    SeededChatSession,
    SeededDrone,
    SeededProject,
    SeededProvider,
    SeededUser,
    World,
)

WORLD_FORMAT: Final = "gadget-harness/world"
WORLD_FORMAT_VERSION: Final = 1

T = TypeVar("T")


def world_to_dict(world: World) -> dict[str, Any]:
    """The world in its documented JSON shape (camelCase keys, clear tokens)."""
    return {
        "format": WORLD_FORMAT,
        "version": WORLD_FORMAT_VERSION,
        "runId": world.run_id,
        "database": world.database,
        "createdAt": world.created_at,
        "fakerSeed": world.faker_seed,
        "spec": spec_to_dict(world.spec),
        "users": [
            {"id": u.id, "email": u.email, "displayName": u.display_name, "token": u.token}
            for u in world.users
        ],
        "providers": [
            {"id": p.id, "userId": p.user_id, "name": p.name, "kind": p.kind,
             "baseUrl": p.base_url, "model": p.model}
            for p in world.providers
        ],
        "projects": [
            {"id": p.id, "userId": p.user_id, "name": p.name, "slug": p.slug}
            for p in world.projects
        ],
        "chatSessions": [
            {"id": c.id, "userId": c.user_id, "projectId": c.project_id,
             "providerId": c.provider_id, "title": c.title}
            for c in world.chat_sessions
        ],
        "drones": [
            {"id": d.id, "userId": d.user_id, "hostname": d.hostname, "token": d.token}
            for d in world.drones
        ],
    }


def world_to_json(world: World) -> str:
    """``world_to_dict`` as indented JSON with a trailing newline."""
    return json.dumps(world_to_dict(world), indent=2) + "\n"


class _Reader:
    """Reads fields from one JSON object, naming ``where`` in every error."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            prefix = f"{where}: " if where else ""
            raise SpecError(f"{prefix}must be an object, got {type(data).__name__}")
        self.data = data
        self.where = where

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type[T]) -> T:
        if key not in self.data:
            raise SpecError(f"{self._path(key)}: missing")
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool):
            raise SpecError(
                f"{self._path(key)}: must be {kind.__name__}, got {type(value).__name__}"
            )
        return value

    def optional_int(self, key: str) -> int | None:
        return None if self.data.get(key) is None else self.get(key, int)

    def text(self, key: str) -> str:
        value = self.get(key, str)
        if not value:
            raise SpecError(f"{self._path(key)}: must not be empty")
        return value

    def object_id(self, key: str) -> str:
        value = self.get(key, str)
        if not is_object_id(value):
            raise SpecError(f"{self._path(key)}: must be 24 hex digits, got {value!r}")
        return value

    def items(self, key: str, build: Callable[[_Reader], T]) -> tuple[T, ...]:
        values = self.get(key, list)
        return tuple(
            build(_Reader(item, f"{self._path(key)}[{i}]")) for i, item in enumerate(values)
        )


def world_from_dict(data: object, *, source: str = "world") -> World:
    """Read a world written by ``world_to_dict``. Raises ``SpecError`` naming the field."""
    try:
        return _world_from_dict(data)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None


def _world_from_dict(data: object) -> World:
    top = _Reader(data, "")
    if top.data.get("format") != WORLD_FORMAT:
        raise SpecError(f"format: must be {WORLD_FORMAT!r}, got {top.data.get('format')!r}")
    version = top.get("version", int)
    if version != WORLD_FORMAT_VERSION:
        raise SpecError(f"version: {version} is not supported (only {WORLD_FORMAT_VERSION})")
    run_id = check_run_id(top.get("runId", str), what="runId")
    faker_seed = top.optional_int("fakerSeed")
    return World(
        run_id=run_id,
        database=top.text("database"),
        created_at=top.text("createdAt"),
        spec=spec_from_dict(top.get("spec", dict), source="spec"),
        users=top.items("users", lambda r: SeededUser(
            r.object_id("id"), r.text("email"), r.text("displayName"), r.text("token"))),
        providers=top.items("providers", lambda r: SeededProvider(
            r.object_id("id"), r.object_id("userId"), r.text("name"), r.text("kind"),
            r.text("baseUrl"), r.text("model"))),
        projects=top.items("projects", lambda r: SeededProject(
            r.object_id("id"), r.object_id("userId"), r.text("name"), r.text("slug"))),
        chat_sessions=top.items("chatSessions", lambda r: SeededChatSession(
            r.object_id("id"), r.object_id("userId"), r.object_id("projectId"),
            r.object_id("providerId"), r.text("title"))),
        drones=top.items("drones", lambda r: SeededDrone(
            r.object_id("id"), r.object_id("userId"), r.text("hostname"), r.text("token"))),
        faker_seed=faker_seed,
    )


def world_from_json(text: str, *, source: str = "world") -> World:
    """Parse JSON text into a ``World``. Raises ``SpecError`` with the line or the field."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return world_from_dict(data, source=source)


def load_world_file(path: str | os.PathLike[str]) -> World:
    """Read a world JSON file. Raises ``SpecError`` naming the file and the field."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{file}: cannot read: {exc.strerror or exc}") from None
    return world_from_json(text, source=str(file))


def write_world_file(world: World, path: str | os.PathLike[str]) -> None:
    """Write the world JSON to ``path`` atomically, readable by the owner only (tokens)."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    except OSError as exc:
        raise SpecError(f"{target}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(world_to_json(world))
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SpecError(f"{target}: cannot write: {exc.strerror or exc}") from None
