"""What the model expects, as steps of the scenario language: the events an action's
clients must receive, the database, the relay's maps. Pure (plain data, no I/O).

The explorer's rules (``harness.explore.machine``) compose these with the request each
action makes; durations are written as sums of the relay's own timeouts (``${relay.*}``),
so a finding waits out whatever relay it runs against.
"""

from __future__ import annotations

from typing import Any, Final

from harness.explore.model import Answer, Chat, Drone, HttpAnswer, Ide, Model, WorkOrder
from harness.explore.program import SCRIPT, Step, ack_matcher, one_of
from harness.protocol import Event

ACK_WAIT: Final = "${relay.drone_ack_timeout} + 5"
RETRY_WAIT: Final = "${relay.drone_ack_timeout} + ${relay.drone_ack_timeout} + 5"
TERMINATE_WAIT: Final = \
    "${relay.termination_ack_timeout} + ${relay.termination_poll_timeout} + 10"
HEARTBEAT_WAIT: Final = "${relay.heartbeat} + 10"


def status_steps(model: Model, drone: Drone, status: str, wait: Any = None) -> list[Step]:
    """Each connected IDE of the drone's owner hears ``droneStatus`` (contract 7)."""
    steps: list[Step] = []
    for ide in model.owner_ides(drone):
        spec: dict[str, Any] = {"actor": ide.name, "event": Event.DRONE_STATUS,
                                "payload": {"registrationId": f"${{{drone.name}.id}}",
                                            "status": status}}
        if wait is not None:
            spec["timeout"] = wait
        steps.append({"expect": spec})
    return steps


def db_step(drone: Drone, status: str, locked_by: Chat | None, *, wait: Any = None) -> Step:
    """The registration reaches ``status`` and ``locked_by``."""
    spec: dict[str, Any] = {"registration": f"${{{drone.name}.id}}", "status": status,
                            "locked_by": locked_by.ref if locked_by else None}
    step: dict[str, Any] = {"db": spec}
    if wait is not None:
        step["timeout"] = wait
    return {"wait_until": step}


def aborted_steps(work_orders: list[WorkOrder]) -> list[Step]:
    """Each work order is ``aborted`` in the database."""
    return [{"wait_until": {"db": {"work_order": f"${{capture.{w.capture}}}",
                                   "status": "aborted"}}} for w in work_orders]


def map_steps(model: Model, wait: Any = None) -> list[Step]:
    """The relay's index maps have the keys of what is connected and lack the rest
    (skipped where the relay has no introspection)."""
    steps: list[Step] = []
    for name, (has, lacks) in model.expected_maps().items():
        spec: dict[str, Any] = {"map": name}
        if has:
            spec["has"] = has
        if lacks:
            spec["lacks"] = lacks
        step: dict[str, Any] = {"sessions": spec}
        if wait is not None:
            step["timeout"] = wait
        steps.append({"wait_until": step})
    return steps


def stream_steps(model: Model, chat: Chat, capture: str, kinds: list[str]) -> list[Step]:
    """Each IDE on ``chat`` gets the work order's stream, in order, then its completion."""
    events: list[dict[str, Any]] = []
    for seq, kind in enumerate(kinds):
        payload: dict[str, Any] = {"seq": seq}
        if seq == 0:
            payload["workOrderId"] = f"${{capture.{capture}}}"
        events.append({"event": kind, "payload": payload})
    events.append({"event": Event.WORK_ORDER_COMPLETE, "payload": {"status": "complete"}})
    return [{"expect": {"actor": i.name, "events": events}} for i in model.watchers(chat)]


def open_step(ide: Ide, chat: Chat, answer: Answer) -> Step:
    """``openChatSession`` of ``chat``, answered as the model allows."""
    return {"emit": {"actor": ide.name, "event": Event.OPEN_CHAT_SESSION,
                     "payload": {"chatSessionId": chat.ref}, "ack": ack_matcher(answer.codes)}}


def lock_payload(ide: Ide, drone: Drone) -> dict[str, Any]:
    """The payload of a lock, release or prompt request by ``ide`` for ``drone``."""
    return {"registrationId": f"${{{drone.name}.id}}", "chatSessionId": ide.chat.ref}


def http_expect(answer: HttpAnswer) -> dict[str, Any]:
    """An ``http`` step's ``expect`` for an answer of the model."""
    status = one_of(sorted(answer.statuses))
    if answer.error is None:
        return {"status": status}
    return {"status": status, "body": {"ok": False, "error": answer.error}}


def script_kinds() -> list[str]:
    """The stream events of the cast's script (``SCRIPT``), in order."""
    return ([Event.THINKING] * SCRIPT["thinking"] + [Event.TOOL_CALL] * SCRIPT["tool_calls"]
            + [Event.RESPONSE] * SCRIPT["responses"])
