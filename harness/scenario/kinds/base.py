"""What a step kind is: one ``StepKind`` holds everything the loader, the schema, the
runner and the docs need to know about it, so a kind is defined in one module.

A kind module (``harness/scenario/kinds/<kind>.py``) declares ``KINDS``, a tuple of
``StepKind``: its argument's JSON Schema (shorthands included), the shorthand's canonical
form, the frozen argument class the handler reads, which fields name actors of which
role, which fields hold matchers, extra load-time checks, the handler and its line of the
format reference. ``harness.scenario.kinds`` collects every module; the published
``schema.json`` and the table in ``docs/scenarios.md`` are generated from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

from harness.yamlsrc import KeyPath

if TYPE_CHECKING:
    from harness.outcome.results import StepResult
    from harness.scenario.context import Run
    from harness.scenario.model import Step

_T = TypeVar("_T")

MATCHER_TEXT: Final = (
    "An expected value: plain data (mappings match as a subset, lists element by element) "
    "or a matcher such as {$regex: ...}, {$type: objectid}, {$any: true}, {$len: 3}, "
    "{$exact: ...}, {$subset: ...}, {$absent: true}, {$capture: name}, {$one_of: [a, b]}, "
    "{$rfc3339: true}, {$with_id: id}; see docs/scenarios.md.")
MATCHER: Final[dict[str, Any]] = {"description": MATCHER_TEXT}
ACTOR_NAME: Final[dict[str, Any]] = {"$ref": "#/$defs/actorName"}
ACTORS: Final[dict[str, Any]] = {"$ref": "#/$defs/actors"}
DURATION: Final[dict[str, Any]] = {"$ref": "#/$defs/duration"}
NAME_PATTERN: Final = "^[A-Za-z_][A-Za-z0-9_-]*$"

SOCKET: Final = ("ide", "drone")
DRONE: Final = ("drone",)
HTTP: Final = ("http",)

ANY: Final = "*"
"""In a matcher path, every item of a list (``("events", ANY, "payload")``)."""


class _Unset:
    """The value of an optional argument the step did not give (``None`` may be meant)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

Handler = Callable[["Run", "Step"], Awaitable[None]]
Execute = Callable[["Run", "Step"], Awaitable["StepResult"]]
"""Runs one step and returns its result (the runner's ``execute``; groups call it)."""
GroupHandler = Callable[["Run", "Step", "StepResult", Execute], Awaitable[None]]
ErrorSink = Callable[[KeyPath, str], None]
"""Where a load-time check reports: the path inside the step's argument, and the message."""
Check = Callable[[Mapping[str, Any], ErrorSink], None]


@dataclass(frozen=True)
class Canonical:
    """A step's argument in its one canonical form, and how to find a canonical path in
    what was written (a shorthand such as ``connect: [d0, ide]`` has no ``actor`` key)."""

    value: Any
    under: tuple[KeyPath, KeyPath] | None = None  # (canonical prefix, written prefix)

    def written(self, path: KeyPath) -> KeyPath:
        """The path in the step as written of ``path`` in the canonical form."""
        if self.under is None:
            return path
        canonical, written = self.under
        if path[:len(canonical)] == canonical:
            return (*written, *path[len(canonical):])
        return path


Shorthand = Callable[[Any], Canonical]


def as_mapping(key: str) -> Shorthand:
    """A shorthand for kinds whose argument may be written as just its ``key`` field:
    ``restart: d0`` is ``restart: {actor: d0}``."""
    def canonical(raw: Any) -> Canonical:
        if isinstance(raw, dict):
            return Canonical(raw)
        return Canonical({key: raw}, ((key,), ()))
    return canonical


@dataclass(frozen=True)
class StepKind:
    """One step kind. ``args`` is a frozen dataclass built from the canonical mapping
    (keys as written; a field's ``metadata["key"]`` when the key is not a Python name);
    groups (``parallel``, ``sequence``, ``either``) have a ``group`` handler instead, which
    runs their children through the runner's ``execute``."""

    name: str
    summary: str
    schema: Mapping[str, Any]
    reference: str
    args: type[Any] | None = None
    handler: Handler | None = None
    shorthand: Shorthand | None = None
    actors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    matchers: tuple[KeyPath, ...] = ()
    check: Check | None = None
    group: GroupHandler | None = None
    order: int = 100  # place in the format reference (ties: by name)
    include: bool = False  # the loader builds the children from a step group file

    def canonical(self, raw: Any) -> Canonical:
        """The argument as written, in its canonical form."""
        return self.shorthand(raw) if self.shorthand is not None else Canonical(raw)

    def parse(self, canonical: Any) -> Any:
        """The typed, frozen argument of a canonical (schema-valid) mapping."""
        if self.args is None:
            return canonical
        return build(self.args, canonical if isinstance(canonical, dict) else {})


def build(cls: type[_T], values: Mapping[str, Any]) -> _T:
    """An argument class ``cls`` (a dataclass) from a written mapping: keys as written
    (``metadata["key"]`` when not a Python name), values through ``metadata["convert"]``."""
    kwargs: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        key = item.metadata.get("key", item.name)
        if key in values:
            convert = item.metadata.get("convert", _same)
            kwargs[item.name] = convert(values[key])
    return cls(**kwargs)


def _same(value: Any) -> Any:
    return value


def actor_names(value: Any) -> tuple[str, ...]:
    """An actor name or a list of names, as a tuple."""
    return (value,) if isinstance(value, str) else tuple(value)


def names() -> dict[str, Any]:
    """Field metadata: this field holds an actor name or a list of them (a tuple in args)."""
    return {"convert": actor_names}


def convert(function: Callable[[Any], Any]) -> dict[str, Any]:
    """Field metadata: build this field's value from the written one with ``function``."""
    return {"convert": function}


def key(name: str) -> dict[str, Any]:
    """Field metadata: this field is written ``name`` (``for`` is a Python keyword)."""
    return {"key": name}
