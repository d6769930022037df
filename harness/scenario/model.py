"""A parsed scenario: frozen dataclasses, built by the loader after schema validation.

A step's argument is its kind's frozen argument class (``harness.scenario.kinds``), built
from the canonical form; templates inside stay unresolved and matchers unparsed, so the
handler resolves them against the seeded world and the captures of earlier steps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.sim.reconnect import Reconnection
from seed.world import WorldSpec

ActorType = Literal["ide", "drone", "http"]

INVARIANTS: tuple[str, ...] = (
    "delivery", "isolation", "after-disconnect", "acks", "leaks", "secrets",
)
"""Names of the automatic checks, as ``expect_violations`` spells them."""


@dataclass(frozen=True)
class Source:
    """Where something was written: file and 1-based line."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ActorSpec:
    """One actor, bound by name to a seeded user (IDE, HTTP) or registration (drone).

    ``user`` and ``drone`` are indexes: ``drone`` is global in the world unless ``user``
    is given, then it counts that user's drones. ``chat_session`` (IDEs) is the index,
    among its user's chat sessions, of the one it works on (``${ide.chat_session.id}``).
    ``token``/``registration`` override the seeded values (templates allowed), for
    authentication scenarios. ``reconnection`` is how the actor reconnects by itself
    (socket.io-client's rules and defaults unless the scenario says otherwise).
    """

    name: str
    type: ActorType
    source: Source
    user: int | None = None
    drone: int | None = None
    transport: Literal["websocket", "polling"] = "websocket"
    token: str | None = None
    registration: str | None = None
    behaviour: Mapping[str, Any] = field(default_factory=dict)
    chat_session: int | None = None
    reconnection: Reconnection = field(default_factory=Reconnection)
    reopen: bool = False  # an IDE reopens its chat sessions after reconnecting by itself
    recover: bool = False  # a drone asks for crash recovery after reconnecting by itself


@dataclass(frozen=True)
class Step:
    """One step. ``label`` is its position (``"3"``, ``"4.2"`` inside a group); ``args`` its
    kind's typed argument (a group's children are in ``children``); ``used_at`` where a
    step group that holds it was used (``use``), innermost first."""

    kind: str
    label: str
    source: Source
    args: Any
    name: str | None = None
    children: tuple[Step, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)  # arg path -> line
    used_at: tuple[Source, ...] = ()

    @property
    def title(self) -> str:
        """``step 3 (emit)`` or ``step 3 (emit "lock the drone")``."""
        named = f' "{self.name}"' if self.name else ""
        return f"step {self.label} ({self.kind}{named})"

    def line_of(self, path: str) -> int:
        """The line of an argument path such as ``events.1.payload``, else the step's."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return self.source.line


@dataclass(frozen=True)
class Scenario:
    """One scenario of a file. ``id`` is ``<file stem>::<name>`` for selection."""

    name: str
    source: Source
    world: WorldSpec
    actors: tuple[ActorSpec, ...]
    steps: tuple[Step, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    expect_violations: tuple[str, ...] = ()
    reference_only: str | None = None  # why only the reference relay must pass it
    exclusive: str | None = None  # why it cannot share the relay with other scenarios
    timeout: float = 60.0
    settle: float = 2.0
    variables: Mapping[str, Any] = field(default_factory=dict)  # ${vars.<name>}

    @property
    def id(self) -> str:
        """``path/of/file.scenario.yaml::name``."""
        return f"{self.source.file}::{self.name}"

    def actor(self, name: str) -> ActorSpec:
        """The actor called ``name`` (the loader guarantees every step's actor exists)."""
        for actor in self.actors:
            if actor.name == name:
                return actor
        raise KeyError(name)

    def all_steps(self) -> Iterator[Step]:
        """Every step, the children of groups and step groups included, in written order."""
        return _walk(self.steps)

    @property
    def negative(self) -> bool:
        """True when the scenario expects invariant violations."""
        return bool(self.expect_violations)


def _walk(steps: Sequence[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        yield from _walk(step.children)
