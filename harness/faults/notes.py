"""``FaultNote``: what one fault action did, as data a run's history keeps (a harness note
with event ``"fault"``), and its one-line description for reports.

    ==============  ===============================  =====================================
    action          params                           effect
    ==============  ===============================  =====================================
    toxic           toxic, direction, name,          -
                    toxicity, and the toxic's own
    remove          name (the toxics removed)        released (bytes held, now let go)
    clear           names (the toxics removed)       released
    cut             -                                connections (reset), lost (bytes)
    stall           direction                        -
    resume          direction                        released
    refuse          refuse (true or false)           -
    partition       name                             -
    heal            name                             released
    connections     count                            -
    ==============  ===============================  =====================================

``direction`` is ``"upstream"``, ``"downstream"`` or ``"both"``; byte counts are those inside
the proxy at that moment (what the kernel buffers hold is not seen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

EVENT: Final = "fault"
"""The event name of a fault note in a run's history."""
MARK: Final = "⚡"


@dataclass(frozen=True)
class FaultNote:
    """One fault action on the links of ``actors``: its parameters and what it did."""

    actors: tuple[str, ...]
    action: str
    params: Mapping[str, Any] = field(default_factory=dict)
    effect: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the note's payload)."""
        return {"actors": list(self.actors), "action": self.action,
                "params": dict(self.params), "effect": dict(self.effect)}

    @classmethod
    def from_json(cls, raw: Any) -> FaultNote | None:
        """The note of a payload read back (a trace), or None when it is not one."""
        if not isinstance(raw, dict) or not isinstance(raw.get("action"), str):
            return None
        actors = raw.get("actors")
        params, effect = raw.get("params"), raw.get("effect")
        return cls(tuple(str(a) for a in actors) if isinstance(actors, list) else (),
                   raw["action"], params if isinstance(params, dict) else {},
                   effect if isinstance(effect, dict) else {})

    def describe(self) -> str:
        """``⚡ d0: cut (2 connections reset, 340 B in flight lost)`` and the like."""
        who = ", ".join(self.actors) or "?"
        p, e = self.params, self.effect
        action = self.action
        if action == "toxic":
            text = f"{who} link: {_toxic(p)}"
        elif action == "remove":
            text = f"{who} link: remove {p.get('name')}{_released(e)}"
        elif action == "clear":
            names = p.get("names") or []
            removed = ", ".join(map(str, names)) if names else "no toxic in force"
            text = f"{who} link: clear ({removed}){_released(e)}"
        elif action == "cut":
            count = int(e.get("connections") or 0)
            lost = f", {size(e['lost'])} in flight lost" if e.get("lost") else ""
            if p.get("side") == "client":
                text = (f"{who}: cut on the actor's side ({count} connection"
                        f"{'s' * (count != 1)} left half-open at the relay{lost})")
            else:
                text = f"{who}: cut ({count} connection{'s' * (count != 1)} reset{lost})"
        elif action == "stall":
            text = f"{who} link: stall {_way(p)}"
        elif action == "resume":
            text = f"{who} link: resume {_way(p)}{_released(e)}"
        elif action == "refuse":
            text = f"{who}: " + ("refuse new connections" if p.get("refuse")
                                 else "accept new connections again")
        elif action == "partition":
            text = f"partition {p.get('name')}: {who} cut off from the relay"
        elif action == "heal":
            text = f"heal {p.get('name')} ({who}){_released(e) or ': nothing was held'}"
        elif action == "connections":
            live = p.get("count")
            text = f"{who} link: {live} live connection{'s' * (live != 1)}"
        else:
            text = f"{who}: {action}"
        return f"{MARK} {text}"


def size(count: Any) -> str:
    """``340 B``, ``1.2 KB`` (1024 bytes)."""
    number = int(count)
    return f"{number} B" if number < 1024 else f"{number / 1024:.1f} KB"


def _released(effect: Mapping[str, Any]) -> str:
    return f": {size(effect['released'])} held, released" if effect.get("released") else ""


def _way(params: Mapping[str, Any]) -> str:
    direction = params.get("direction", "both")
    return "both ways" if direction == "both" else str(direction)


def _toxic(p: Mapping[str, Any]) -> str:
    kind = p.get("toxic")
    if kind == "latency":
        jitter = f"±{_num(p['jitter_ms'])}" if p.get("jitter_ms") else ""
        body = f"latency {_num(p.get('ms'))}{jitter} ms"
    elif kind == "bandwidth":
        body = f"bandwidth {_num(p.get('kb_per_s'))} KB/s"
    elif kind == "timeout":
        body = "blackhole (timeout 0)" if not p.get("ms") else \
            f"timeout: nothing passes, closed after {_num(p.get('ms'))} ms"
    elif kind == "reset_peer":
        body = f"reset_peer after {_num(p.get('ms', 0))} ms"
    elif kind == "slow_close":
        body = f"slow_close {_num(p.get('ms'))} ms"
    elif kind == "slicer":
        variation = f"±{p['size_variation']}" if p.get("size_variation") else ""
        delay = f", {_num(p['delay_us'])} µs apart" if p.get("delay_us") else ""
        body = f"slicer {p.get('average_size')}{variation} B pieces{delay}"
    elif kind == "limit_data":
        body = f"limit_data {p.get('bytes')} B"
    else:
        body = str(kind)
    extra = []
    if p.get("toxicity", 1) != 1:
        extra.append(f"toxicity {_num(p['toxicity'])}")
    if p.get("name") and p.get("name") != kind:
        extra.append(f"named {p['name']}")
    more = f" ({', '.join(extra)})" if extra else ""
    return f"{body} {_way(p)}{more}"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)
