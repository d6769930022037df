"""``harness scenario from-trace``: a recorded exchange as a scenario the harness runs.

    conversion = convert(read_trace(Path("bug.trace.jsonl")), source="bug.trace.jsonl")
    Path("bug.scenario.yaml").write_text(conversion.text)

``recording`` reads the trace's clients, ``cast`` maps them onto a seeded world, ``steps``
turns what each did into steps, and this module writes the document and loads it back
with the scenario loader (a conversion that does not load is our bug, never the user's
file). docs/reproduce.md is the user's page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ScenarioError, TraceError
from harness.replay.cast import Actor, Cast, build_cast
from harness.replay.recording import Recording, read_recording
from harness.replay.steps import Line, ReplayOptions, replay_steps
from harness.report.trace import Trace
from harness.scenario.loader import load_file
from harness.yamlwrite import flow, step_line

__all__ = ["Conversion", "ReplayOptions", "convert"]


@dataclass(frozen=True)
class Conversion:
    """The scenario's text and what a summary line says about it."""

    text: str
    actors: int
    steps: int
    world: dict[str, int]


def _actor_spec(actor: Actor, behaviour: dict[str, Any] | None) -> dict[str, Any]:
    if actor.kind == "http":
        return {"http": {"user": actor.user}}
    spec: dict[str, Any]
    if actor.kind == "drone":
        binding: dict[str, Any] = {"index": actor.drone, "user": actor.user}
        if actor.token is not None:
            binding["token"] = actor.token
        if actor.registration is not None:
            binding["registration"] = actor.registration
        spec = {"drone": binding}
    else:
        ide: dict[str, Any] = {"user": actor.user}
        if actor.chat:
            ide["chat_session"] = actor.chat
        if actor.token is not None:
            ide["token"] = actor.token
        spec = {"ide": ide}
    spec["reconnect"] = False  # the recording says when each client came back
    if actor.transport != "websocket":
        spec["transport"] = actor.transport
    if behaviour:
        spec["behaviour"] = behaviour
    return spec


def _header(recording: Recording, cast: Cast, source: str, options: ReplayOptions) -> list[str]:
    info = recording.trace.header.get("recording") or {}
    started = info.get("started") or "?"
    upstream = info.get("upstream") or recording.trace.header.get("source") or "?"
    lines = [f"Replay of {source} (recorded {started} from {upstream}), written by",
             "`harness scenario from-trace`. Each recorded client is an actor:"]
    for actor in cast.actors.values():
        recorded = ", ".join(actor.clients) or "its HTTP calls"
        lines.append(f"  {actor.name}: {recorded} (user {actor.user}"
                     + (f", drone {actor.drone}" if actor.kind == "drone" else "")
                     + (", with a token the relay refused" if actor.token else "") + ")")
    lines += ["Recorded ids are the seeded world's here (${...}); values that differ per run",
              "(unknown ids, timestamps, message texts) are matched by type; work order ids",
              "are captured where first seen. Gaps: "
              + ("kept (pause steps)." if options.gaps == "keep" else
                 "compressed (each step waits for the relay, not the clock).")]
    if recording.payloads != "full":
        lines.append(f"The recorder kept payloads as '{recording.payloads}': such texts are "
                     "matched by type.")
    return lines


def _document(name: str, header: list[str], cast: Cast, behaviours: dict[str, Any],
              lines: list[Line], timeout: int) -> str:
    out = [f"# {line}".rstrip() for line in header]
    doc = {"name": name, "tags": ["replay"], "world": cast.world(), "timeout": timeout}
    out.append(yaml.safe_dump(doc, sort_keys=False, width=90).rstrip())
    out.append("actors:")
    for actor in cast.actors.values():
        out.append(f"  {actor.name}: {flow(_actor_spec(actor, behaviours.get(actor.name)))}")
    out.append("steps:")
    for line in lines:
        out += [f"  # {comment}" for comment in line.comments]
        out.append(step_line(line.step))
    return "\n".join(out) + "\n"


def convert(trace: Trace, *, source: str, name: str | None = None,
            options: ReplayOptions | None = None) -> Conversion:
    """The scenario that replays ``trace``; raises ``TraceError`` when it has nothing to
    replay. ``source`` names the trace in the header comment and in errors."""
    options = options or ReplayOptions()
    recording = read_recording(trace, source)
    cast = build_cast(recording)
    lines, behaviours, paused = replay_steps(recording, cast, options)
    if not lines:
        raise TraceError(f"{source}: the trace's clients did nothing to replay")
    timeout = max(60, math.ceil(recording.duration + paused) * 2 + 30)
    title = name or f"replay of {Path(source).name}"
    text = _document(title, _header(recording, cast, source, options), cast, behaviours,
                     lines, timeout)
    try:
        load_file(Path(f"{Path(source).stem}.scenario.yaml"), text)
    except ScenarioError as exc:  # ours to fix: the converter wrote what the loader refuses
        raise ScenarioError(f"{source}: the scenario written from this trace does not load "
                            f"(a bug of harness scenario from-trace; please report it with "
                            f"the trace): {exc}") from exc
    return Conversion(text, len(cast.actors), len(lines), cast.world())
