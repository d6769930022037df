"""What a simulated drone does: its answers to relay requests and the stream it sends.

Pure logic, no I/O: ``StreamScript`` and ``DroneBehaviour`` validate themselves on
construction (``ConfigError`` naming the field and the bad value), and ``stream_events``
turns a script into the exact list of ``(event, payload)`` a drone emits for one work order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from harness.errors import ConfigError
from harness.protocol import Event, WorkOrderStatus

__all__ = ["DroneBehaviour", "StreamScript", "make_text", "stream_events"]

FinalStatus = Literal["complete", "failed"]
LockAnswer = Literal["accept", "refuse", "ignore"]
ReleaseAnswer = Literal["accept", "ignore"]
PromptAnswer = Literal["stream", "accept", "refuse", "ignore"]
TerminationAnswer = Literal["accept", "refuse", "ignore"]
ExitMode = Literal["goodbye", "silent"]

_FINAL_STATUSES: Final = (WorkOrderStatus.COMPLETE, WorkOrderStatus.FAILED)
_LOCK_ANSWERS: Final = ("accept", "refuse", "ignore")
_RELEASE_ANSWERS: Final = ("accept", "ignore")
_PROMPT_ANSWERS: Final = ("stream", "accept", "refuse", "ignore")
_TERMINATION_ANSWERS: Final = ("accept", "refuse", "ignore")
_EXIT_MODES: Final = ("goodbye", "silent")
_FILLER: Final = "abcdefghijklmnopqrstuvwxyz0123456789"
TOOL_NAME: Final = "write_file"


def _check_count(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{owner}.{name} must be an integer >= 0, got {value!r}")


def _check_choice(owner: str, name: str, value: object, choices: tuple[Any, ...]) -> None:
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"{owner}.{name} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True)
class StreamScript:
    """What a drone streams for one prompt, then ``workOrderComplete``.

    ``text_size`` is the exact size in bytes (ASCII) of each event's text, and of the
    ``content`` argument of each tool call. ``pacing`` is the pause between two events
    (0 = burst). ``interleave`` mixes the kinds round-robin (thinking, toolCall,
    response, thinking, ...); otherwise they come grouped in that order.
    ``final_status=None`` means the work order never completes.
    """

    thinking: int = 1
    responses: int = 1
    tool_calls: int = 0
    text_size: int = 32
    pacing: float = 0.0
    interleave: bool = True
    final_status: FinalStatus | None = "complete"
    summary: str = "done"

    def __post_init__(self) -> None:
        for name in ("thinking", "responses", "tool_calls", "text_size"):
            _check_count("StreamScript", name, getattr(self, name))
        pacing = self.pacing
        if (
            isinstance(pacing, bool)
            or not isinstance(pacing, int | float)
            or not math.isfinite(pacing)
            or pacing < 0
        ):
            raise ConfigError(f"StreamScript.pacing must be a number >= 0, got {pacing!r}")
        if not isinstance(self.interleave, bool):
            raise ConfigError(
                f"StreamScript.interleave must be true or false, got {self.interleave!r}"
            )
        if self.final_status is not None:
            _check_choice(
                "StreamScript", "final_status", self.final_status, (*_FINAL_STATUSES, None)
            )
        if not isinstance(self.summary, str):
            raise ConfigError(f"StreamScript.summary must be a string, got {self.summary!r}")

    @property
    def event_count(self) -> int:
        """Stream events (thinking + response + toolCall), not counting the completion."""
        return self.thinking + self.responses + self.tool_calls


@dataclass(frozen=True)
class DroneBehaviour:
    """How a simulated drone answers the relay.

    ``accept``/``refuse`` ack ``true``/``false``; ``ignore`` sends no ack packet at all.
    ``on_prompt="stream"`` acks, then runs ``script``; ``on_termination="accept"`` acks
    ``true`` then exits: with a goodbye (``exit_mode="goodbye"``, a Socket.IO DISCONNECT),
    or ``"silent"``: its connection dropped with no goodbye, as when a drone process exits
    (on long-polling the relay notices only at its ping timeout). ``recover_after_restart``
    makes ``restart()`` ask ``requestCrashRecovery``.
    """

    on_lock: LockAnswer = "accept"
    on_release: ReleaseAnswer = "accept"
    on_prompt: PromptAnswer = "stream"
    script: StreamScript = field(default_factory=StreamScript)
    on_termination: TerminationAnswer = "accept"
    recover_after_restart: bool = True
    exit_mode: ExitMode = "goodbye"

    def __post_init__(self) -> None:
        _check_choice("DroneBehaviour", "on_lock", self.on_lock, _LOCK_ANSWERS)
        _check_choice("DroneBehaviour", "on_release", self.on_release, _RELEASE_ANSWERS)
        _check_choice("DroneBehaviour", "on_prompt", self.on_prompt, _PROMPT_ANSWERS)
        _check_choice("DroneBehaviour", "on_termination", self.on_termination, _TERMINATION_ANSWERS)
        _check_choice("DroneBehaviour", "exit_mode", self.exit_mode, _EXIT_MODES)
        if not isinstance(self.script, StreamScript):
            raise ConfigError(
                f"DroneBehaviour.script must be a StreamScript, got {type(self.script).__name__}"
            )
        if not isinstance(self.recover_after_restart, bool):
            raise ConfigError(
                "DroneBehaviour.recover_after_restart must be true or false, "
                f"got {self.recover_after_restart!r}"
            )


def make_text(size: int, label: str) -> str:
    """``label`` padded with a fixed filler (or cut) to exactly ``size`` ASCII bytes."""
    if size <= len(label):
        return label[:size]
    pad = size - len(label)
    filler = _FILLER * (pad // len(_FILLER) + 1)
    return label + filler[:pad]


def _kinds(script: StreamScript) -> list[str]:
    counts = {
        Event.THINKING: script.thinking,
        Event.TOOL_CALL: script.tool_calls,
        Event.RESPONSE: script.responses,
    }
    if not script.interleave:
        return [kind for kind, n in counts.items() for _ in range(n)]
    order: list[str] = []
    remaining = dict(counts)
    while any(remaining.values()):
        for kind, left in remaining.items():
            if left:
                order.append(kind)
                remaining[kind] = left - 1
    return order


def stream_events(
    script: StreamScript, work_order_id: str, chat_session_id: str, *, start_seq: int = 0
) -> list[tuple[str, dict[str, Any]]]:
    """The ``(event, payload)`` list a drone emits for one work order, in order.

    Stream events carry ``seq`` ``start_seq``, ``start_seq + 1``, ...; the final
    ``workOrderComplete`` (absent when ``final_status`` is None) carries the next seq.
    Each text starts with ``wo=<id> seq=<n> <kind> `` so every event is identifiable.
    """
    events: list[tuple[str, dict[str, Any]]] = []
    seq = start_seq
    for kind in _kinds(script):
        base: dict[str, Any] = {
            "workOrderId": work_order_id,
            "chatSessionId": chat_session_id,
            "seq": seq,
        }
        label = f"wo={work_order_id} seq={seq} {kind} "
        if kind == Event.TOOL_CALL:
            base["toolCallId"] = f"call-{work_order_id}-{seq}"
            base["name"] = TOOL_NAME
            base["arguments"] = {
                "path": f"wo-{work_order_id}/seq-{seq}.txt",
                "content": make_text(script.text_size, label),
            }
        else:
            base["text"] = make_text(script.text_size, label)
        events.append((kind, base))
        seq += 1
    if script.final_status is not None:
        events.append(
            (
                Event.WORK_ORDER_COMPLETE,
                {
                    "workOrderId": work_order_id,
                    "chatSessionId": chat_session_id,
                    "seq": seq,
                    "status": script.final_status,
                    "summary": script.summary,
                },
            )
        )
    return events
