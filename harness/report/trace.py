"""``trace.jsonl``: the message history of one scenario as JSON Lines (format: docs/reports.md).

Line 1 is a header naming the scenario, the run and the schema version (with the outcome,
the steps and the actors, so a trace alone can be read back as a timeline); every further
line is one ``Message`` of the history, in recording order, its time in seconds since the
first message.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import orjson

from harness.errors import TraceError
from harness.outcome.results import Failure, ScenarioResult
from harness.sim.history import Message

SCHEMA = "gadget-harness-trace"
SCHEMA_VERSION = 1
_LABEL = re.compile(r"^(?P<kind>drone|ide|http) (?P<name>\S+)(?: \((?:user )?(?P<id>[^)]*)\))?$")


@dataclass(frozen=True)
class ActorInfo:
    """What a report needs to know of one actor: kind, label, its registration or user."""

    name: str
    kind: str
    label: str
    registration_id: str | None = None
    user_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"kind": self.kind, "label": self.label,
                "registrationId": self.registration_id, "userId": self.user_id}


@dataclass(frozen=True)
class Trace:
    """A trace read back: its header (a dict, see docs/reports.md) and its messages."""

    header: dict[str, Any]
    messages: tuple[Message, ...]
    actors: dict[str, ActorInfo] = field(default_factory=dict)

    @property
    def scenario(self) -> str:
        """The scenario's id."""
        return str(self.header.get("scenario", "?"))


def actor_infos(result: ScenarioResult) -> dict[str, ActorInfo]:
    """Every actor of a result (from its labels, and from the history for unlabelled ones)."""
    infos: dict[str, ActorInfo] = {}
    for name, label in result.actor_labels.items():
        found = _LABEL.match(label)
        kind = found.group("kind") if found else "ide"
        ident = found.group("id") if found else None
        infos[name] = ActorInfo(name, kind, label,
                                registration_id=ident if kind == "drone" else None,
                                user_id=ident if kind == "ide" else None)
    for message in result.history:
        if message.actor not in infos and message.kind != "harness":
            infos[message.actor] = ActorInfo(message.actor, message.kind, message.actor)
    return infos


def _failure_json(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"kind": failure.kind, "message": failure.message, "step": failure.step,
            "source": str(failure.source) if failure.source else None, "at": failure.at,
            "facts": [fact.to_json() for fact in failure.facts],
            "used_at": [str(s) for s in failure.used_at]}


def header_of(result: ScenarioResult, *, run_title: str = "") -> dict[str, Any]:
    """The header line of a result's trace."""
    scenario = result.scenario
    return {
        "type": "header",
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "scenario": scenario.id,
        "name": scenario.name,
        "source": str(scenario.source),
        "run": {"id": result.run_id, "title": run_title},
        "status": result.status,
        "duration": round(result.duration, 6),
        "failure": _failure_json(result.failure),
        "steps": [{"label": s.step.label, "title": s.step.title, "line": s.step.source.line,
                   "status": s.status, "started": round(s.started, 6),
                   "duration": round(s.duration, 6)} for s in result.flat_steps()],
        "actors": {name: info.to_json() for name, info in actor_infos(result).items()},
        "messages": len(result.history),
    }


def message_json(message: Message, t0: float) -> dict[str, Any]:
    """One message line (time relative to ``t0``)."""
    return {"type": "message", "seq": message.seq, "t": round(message.t - t0, 6),
            "actor": message.actor, "kind": message.kind, "direction": message.direction,
            "event": message.event, "payload": message.payload, "ack": message.ack,
            "socket_id": message.socket_id, "meta": message.meta}


def dump_trace(result: ScenarioResult, out: TextIO, *, run_title: str = "") -> None:
    """Write a result's trace to ``out``."""
    t0 = result.history[0].t if result.history else 0.0
    lines = [header_of(result, run_title=run_title)]
    lines += [message_json(m, t0) for m in result.history]
    for line in lines:
        out.write(_line(line))


_LINE_OPTIONS: Final = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                        | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_APPEND_NEWLINE)


_MAYBE_AWKWARD: Final = re.compile(rb"null|\d[.eE]")
"""In orjson's text, where a float it writes unlike ``json`` could be (or a mere look-alike
in a string: then ``awkward_float`` walks the value for nothing)."""


def orjson_text(value: Any, option: int) -> str | None:
    """orjson's text of ``value`` (``default=str``), or None where it is not what ``json``
    writes: what orjson refuses (an integer past 64 bits, a key that is not a string) or
    writes otherwise (a NaN or an infinity, which it writes as null; a float Python writes
    with an exponent). The caller then asks ``json``."""
    try:
        text = orjson.dumps(value, default=str, option=option)
    except (TypeError, orjson.JSONEncodeError):
        return None
    if _MAYBE_AWKWARD.search(text) is not None and awkward_float(value):
        return None
    return text.decode()


def awkward_float(value: Any) -> bool:
    """True when ``value`` holds (at any depth) a float that is not finite or that Python
    writes with an exponent (orjson writes ``1e-05`` as ``0.00001``, ``1e-09`` as ``1e-9``)."""
    if isinstance(value, float):
        return not math.isfinite(value) or "e" in repr(value)
    if isinstance(value, dict):
        return any(awkward_float(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(awkward_float(item) for item in value)
    return False


def _line(obj: dict[str, Any]) -> str:
    """One line of JSON: orjson's (compact), else ``json``'s (``orjson_text``)."""
    text = orjson_text(obj, _LINE_OPTIONS)
    if text is not None:
        return text
    return json.dumps(obj, sort_keys=False, default=str, ensure_ascii=False) + "\n"


def write_trace(result: ScenarioResult, path: Path, *, run_title: str = "") -> Path:
    """Write a result's trace to ``path`` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        dump_trace(result, out, run_title=run_title)
    return path


def _message(obj: dict[str, Any], where: str, good: str) -> Message:
    try:
        return Message(seq=int(obj["seq"]), t=float(obj["t"]), actor=str(obj["actor"]),
                       kind=obj["kind"], direction=obj["direction"], event=str(obj["event"]),
                       payload=obj.get("payload"), ack=obj.get("ack"),
                       socket_id=obj.get("socket_id"), meta=dict(obj.get("meta") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise TraceError(f"{where}: not a message line ({exc!s}); expected seq, t, actor, "
                         f"kind, direction, event; the last good record: {good}") from exc


def read_trace(path: Path) -> Trace:
    """Read a ``trace.jsonl``; raises ``TraceError`` naming the file and line when malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TraceError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_trace(text, str(path))


def parse_trace(text: str, name: str = "<trace>") -> Trace:
    """Parse the text of a trace (see ``read_trace``)."""
    header: dict[str, Any] | None = None
    messages: list[Message] = []
    good = "none (no good record before it)"
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise TraceError(f"{where}: not JSON (a cut or corrupted record): {exc}; the last "
                             f"good record: {good}") from exc
        if not isinstance(obj, dict):
            raise TraceError(f"{where}: expected a JSON object, got {type(obj).__name__}; "
                             f"the last good record: {good}")
        if header is None:
            if obj.get("type") != "header" or obj.get("schema") != SCHEMA:
                keys = ", ".join(list(map(str, obj))[:5]) or "none"
                raise TraceError(f"{where}: not a {SCHEMA} file (a trace of `harness record`, "
                                 "or a report's trace.jsonl): its first line must be the "
                                 f"header with \"schema\": \"{SCHEMA}\"; this one has the "
                                 f"keys {keys}")
            if obj.get("version") != SCHEMA_VERSION:
                raise TraceError(f"{where}: schema version {obj.get('version')!r} is not "
                                 f"supported (this harness reads version {SCHEMA_VERSION})")
            header = obj
            good = f"line {number} (the header)"
            continue
        message = _message(obj, where, good)
        messages.append(message)
        good = (f"line {number} (seq {message.seq}: {message.actor} {message.direction} "
                f"{message.event} at +{message.t:.3f} s)")
    if header is None:
        raise TraceError(f"{name}: empty trace (no header line)")
    actors = {name_: ActorInfo(name_, str(a.get("kind", "ide")), str(a.get("label", name_)),
                               a.get("registrationId"), a.get("userId"))
              for name_, a in (header.get("actors") or {}).items()}
    return Trace(header, tuple(messages), actors)
