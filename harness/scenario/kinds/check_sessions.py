"""``check_sessions``: the relay's session maps, through introspection, checked once
(``wait_until: {sessions: ...}`` polls the same check)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.outcome.facts import Fact
from harness.outcome.results import StepSkipped, fail
from harness.outcome.wording import sentence
from harness.scenario.context import Run
from harness.scenario.introspection import fetch_sessions
from harness.scenario.kinds.base import UNSET, StepKind, build, convert
from harness.scenario.matchers import match
from harness.scenario.model import Step


@dataclass(frozen=True)
class SessionsSpec:
    """One session map and what it must hold."""

    map: str
    has: tuple[Any, ...] = field(default=(), metadata=convert(tuple))
    lacks: tuple[Any, ...] = field(default=(), metadata=convert(tuple))
    size: Any = UNSET


def parse_spec(raw: Mapping[str, Any]) -> SessionsSpec:
    """The typed spec of a written ``check_sessions`` (or ``wait_until: {sessions}``)."""
    return build(SessionsSpec, raw)


async def sessions_problem(run: Run, spec: SessionsSpec) -> tuple[str, Fact | None] | None:
    """None when the maps match ``spec``, else what is wrong (and the fact it states);
    raises ``StepSkipped``."""
    snapshot = await fetch_sessions(run.env.relay_url, run.env.admin_token)
    if snapshot.refused:
        raise fail(f"cannot check the relay's session maps: {snapshot.reason}", kind="error")
    if not snapshot.available:
        raise StepSkipped(snapshot.reason)
    name = spec.map
    keys = snapshot.keys(name)
    if keys is None:
        raise StepSkipped(snapshot.missing(name))
    for key in run.render(list(spec.has)):
        if str(key) not in keys:
            lacks = Fact("map-lacks", map=name, key=str(key))
            return f"{sentence(lacks)} (keys: {', '.join(keys) or 'none'})", lacks
    for key in run.render(list(spec.lacks)):
        if str(key) in keys:
            holds = Fact("map-holds", map=name, key=str(key))
            return sentence(holds), holds
    if spec.size is not UNSET:
        result = match(run.render(spec.size), snapshot.size(name))
        if not result:
            return (f"the relay's {name} map has size {snapshot.size(name)}: "
                    f"{result.mismatches[0]}", None)
    return None


async def check_sessions(run: Run, step: Step) -> None:
    """Check the relay's session maps once (skipped without introspection)."""
    problem = await sessions_problem(run, step.args)
    if problem:
        raise fail(problem[0], facts=[problem[1]])


KINDS = (
    StepKind(
        name="check_sessions", order=15,
        summary="The relay's session maps, checked once.",
        schema={"$ref": "#/$defs/sessions"},
        reference="`map: sessions|dronesByRegistration|codeSessionsByUser|"
                  "codeSessionsByChatSession`, `has: [keys]`, `lacks: [keys]`, `size` "
                  "(matcher); skipped, saying why, where the relay has no introspection or "
                  "its answer does not name the map; an error when the endpoint refuses the "
                  "admin token",
        args=SessionsSpec, handler=check_sessions, matchers=(("size",),)),
)
