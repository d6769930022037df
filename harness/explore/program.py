"""The steps an exploration example ran, as a scenario file in the scenario language. Pure.

Each rule of the explorer adds one *action*: a comment (what it did and what the model
allowed) and its steps, plain data as a scenario author would write them. ``render`` gives
the whole document; the explorer loads it with the scenario loader before running each
action's steps, so what ran is exactly what a failure writes out, and ``harness run`` on
that file runs the same steps with the same checks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from harness.explore.model import (
    CAST_DRONES,
    CAST_HTTP,
    CAST_IDES,
    CHATS_PER_USER,
    DRONES_PER_USER,
    USERS,
)
from harness.yamlwrite import flow, step_line

Step = dict[str, Any]

RECONNECT: Final = {"delay": 0.2, "delay_max": 1, "timeout": 3}
"""How the cast reconnects by itself (after a relay restart or a network fault): quickly,
so an example does not wait out socket.io-client's 1 to 5 s backoff, and giving up on an
attempt after 3 s (socket.io-client: 20 s), so that an attempt made while the link was
blackholed does not hold the client away long after the link is back."""
SCRIPT: Final = {"thinking": 2, "tool_calls": 1, "responses": 1, "interleave": False}
"""What a drone streams for a prompt: thinking, thinking, toolCall, response, complete (in
that order: a script interleaves its kinds unless told not to)."""


def actor_specs() -> dict[str, dict[str, Any]]:
    """The explorer's cast as the scenario's ``actors:``."""
    actors: dict[str, dict[str, Any]] = {}
    for name, user, chat in CAST_IDES:
        ide: dict[str, Any] = {"user": user}
        if chat:
            ide["chat_session"] = chat
        actors[name] = {"ide": ide, "reconnect": dict(RECONNECT)}
    for name, user, index, transport in CAST_DRONES:
        spec: dict[str, Any] = {"drone": {"index": index, "user": user}}
        if transport != "websocket":
            spec["transport"] = transport
        spec["reconnect"] = dict(RECONNECT)
        spec["behaviour"] = {"script": dict(SCRIPT)}
        if transport == "polling":  # a drone process that exits leaves no connection
            spec["behaviour"]["exit_mode"] = "silent"
        actors[name] = spec
    for name, user in CAST_HTTP:
        actors[name] = {"http": {"user": user}}
    return actors


@functools.cache
def _actor_lines() -> tuple[tuple[str, str], ...]:
    return tuple((name, f"  {name}: {flow(spec)}") for name, spec in actor_specs().items())


WORLD: Final = {"users": USERS, "drones_per_user": DRONES_PER_USER,
                "chat_sessions_per_project": CHATS_PER_USER}


@dataclass
class Action:
    """One rule's comment and steps, and their text (written once)."""

    comment: str
    steps: list[Step]
    lines: list[str] = field(default_factory=list)  # each step's text

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = [step_line(step) for step in self.steps]

    @property
    def captures(self) -> bool:
        """True when a step of the action captures a value later steps refer to."""
        return any("$capture" in line for line in self.lines)


@dataclass
class Program:
    """The scenario an example builds, action by action."""

    name: str = "found by harness explore"
    header: list[str] = field(default_factory=list)  # comment lines above the document
    actions: list[Action] = field(default_factory=list)
    reference_only: list[str] = field(default_factory=list)
    timeout: float = 600.0

    @property
    def step_count(self) -> int:
        """Top-level steps so far."""
        return sum(len(a.steps) for a in self.actions)

    def add(self, comment: str, steps: Sequence[Step]) -> Action:
        action = Action(comment, list(steps))
        self.actions.append(action)
        return action

    def render(self, *, prune: bool = False, upto: int | None = None) -> str:
        """The scenario document. ``prune`` leaves out actors no step names (for the file
        a person reads); ``upto`` keeps only the first ``upto`` actions."""
        actions = self.actions if upto is None else self.actions[:upto]
        body: list[str] = []
        for number, action in enumerate(actions, start=1):
            body.append(f"  # {number}. {action.comment}")
            body += action.lines
        return self._document(body, prune)

    def render_last(self) -> str:
        """The document the explorer loads to run the last action: its steps, after only
        those earlier steps that capture a value (which the loader checks references
        against). Loading it costs the same however long the example grows; the last
        action's steps are the document's last ones."""
        *earlier, last = self.actions
        body = [line for action in earlier if action.captures for line in action.lines]
        return self._document(body + last.lines, prune=False)

    def _document(self, body: list[str], prune: bool) -> str:
        steps_text = "\n".join(body)
        actors = actor_specs()
        if prune:
            actors = {name: spec for name, spec in actors.items()
                      if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", steps_text)}
        doc: dict[str, Any] = {"name": self.name, "tags": ["explore"]}
        if self.reference_only:
            doc["reference_only"] = "; ".join(dict.fromkeys(self.reference_only))
        doc.update({"world": dict(WORLD), "timeout": self.timeout})
        lines = [f"# {line}" if line else "#" for line in self.header]
        lines.append(yaml.safe_dump(doc, sort_keys=False, width=90).rstrip())
        lines.append("actors:")
        lines += [line for name, line in _actor_lines() if name in actors]
        lines.append("steps:")
        lines.append(steps_text)
        return "\n".join(lines) + "\n"


# -- step builders (plain data) --------------------------------------------------------------

def ack_matcher(codes: frozenset[str]) -> Any:
    """``{ok: true}``, ``{ok: false, error: X}`` or a ``$one_of`` of those."""
    errors = sorted(c for c in codes if c != "ok")
    refusal: dict[str, Any] | None = None
    if errors:
        refusal = {"ok": False, "error": errors[0] if len(errors) == 1 else {"$one_of": errors}}
    if "ok" not in codes:
        return refusal
    return {"ok": True} if refusal is None else {"$one_of": [{"ok": True}, refusal]}


def one_of(values: Sequence[Any]) -> Any:
    """A plain value when there is one, else ``{$one_of: [...]}``."""
    return values[0] if len(values) == 1 else {"$one_of": list(values)}
