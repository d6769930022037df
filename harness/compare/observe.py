"""What one run of one scenario showed of the relay, in a form two runs can be compared in.

An ``Observation`` keeps, per actor and channel, the run's messages as ``Item``s with
their payloads normalised (``harness.compare.normalize``):

- ``emit``: what the actor emitted, each with its answer (the ack, ``<no ack>`` when none
  came in time, nothing when the emit asked for none);
- ``receive``: what the relay sent the actor, in the order it arrived;
- ``link``: connects, refusals and disconnects with their reason;
- ``http``: requests with the status and body of their answer.

Order is compared within one channel only: acks and streams may come in either order on
one socket (contract section 11.4) and actors run side by side, so the order *between*
channels or actors says nothing about the relay, except where ``ack_positions`` keeps it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Final, Literal

from harness.compare.normalize import UNKNOWN_WORK_ORDER, Normaliser
from harness.outcome.deliveries import paired
from harness.protocol import Event
from harness.report.latency import match_deliveries
from harness.sim.history import Message

Channel = Literal["emit", "receive", "link", "http"]
CHANNELS: Final[tuple[Channel, ...]] = ("emit", "receive", "link", "http")
NO_ACK: Final = "<no ack>"
_OWN_LEAVING: Final = ("client", "crash", "exit")  # a scenario closed, crashed or exited it
_STEP = re.compile(r"^step (\d+(?:\.\d+)*)\b")
LOCK_WHILE_PENDING: Final = "lock-while-pending"
"""A ``requestSessionLock`` emitted while another for the same drone awaited its answer."""
AFTER_UNKNOWN_WORK_ORDER: Final = "after-unknown-work-order"
"""A ``protocolError`` a drone received after it named a work order no relay created."""

# The acks whose place among the actor's received events section 11.4 leaves open, and
# the events they may come before or after.
ACK_RACES: Final = {Event.SUBMIT_PROMPT: (Event.THINKING, Event.RESPONSE, Event.TOOL_CALL,
                                           Event.WORK_ORDER_COMPLETE),
                    Event.REQUEST_SESSION_LOCK: (Event.DRONE_STATUS,)}


@dataclass(frozen=True)
class Item:
    """One thing an actor did or was sent, normalised. ``step`` is the title of the step it
    happened in and ``line`` that step's line in the scenario file; ``seq`` the message's
    place in its run's history (for reports)."""

    actor: str
    channel: Channel
    event: str
    payload: Any = None
    answer: Any = None
    step: str = ""
    line: int | None = None
    seq: int = 0
    at: tuple[int, ...] = ()  # the step's number (``step 2.1`` -> (2, 1))
    group: str | None = None  # its work order: ``<drone d0>#2``, that drone's 2nd here
    tags: frozenset[str] = frozenset()  # facts of the raw run the payload no longer shows

    def body(self) -> dict[str, Any]:
        """What is compared of the item: its event, payload and answer."""
        out: dict[str, Any] = {"payload": self.payload}
        if self.channel in ("emit", "http"):
            out["answer"] = self.answer
        return out


@dataclass
class Observation:
    """One run of one scenario (see the module docstring)."""

    scenario: str
    status: str
    failure: str | None = None
    items: dict[tuple[str, Channel], list[Item]] = field(default_factory=dict)
    ack_positions: list[tuple[str, str, int]] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    reached: tuple[int, ...] = ()  # the number of the last step that began
    tags: frozenset[str] = frozenset()  # every tag of its items
    reconnected: frozenset[str] = frozenset()  # actors that connected more than once



def observe(scenario: str, status: str, failure: str | None, history: Sequence[Message],
            run_id: str | None, names: Mapping[str, str] | None = None) -> Observation:
    """The observation of one run from its message history. ``names`` gives ids a stable
    name (a drone's registration id -> ``<drone d0>``), the same on every run.

    A forwarded stream event an IDE received although nobody owed it to that connection
    (it reconnected in the middle, the scenario marked the emit optional) is left out:
    whether it arrives depends on timing, not on the relay."""
    norm = Normaliser.for_history(history, run_id, names)
    unowed = {r.message.seq for r in paired(tuple(history)).receipts
              if r.send is not None and not r.send.owed}
    obs = Observation(scenario, status, norm.text(failure) if failure else None)
    items: dict[tuple[str, Channel], list[Item]] = defaultdict(list)
    answers = _answers(history)
    tags = _tags(history, norm)
    groups: dict[tuple[str, str, str], str] = {}
    step, line = "", None
    at: tuple[int, ...] = ()
    for message in history:
        if message.kind == "harness":
            if message.event == "step":
                step, line = str(message.payload), message.meta.get("line")
                at = step_number(step)
                obs.reached = max(obs.reached, at)
            continue
        item = _item(message, norm, answers, step, line, at)
        if item is None or message.seq in unowed:
            continue
        order = message.payload.get("workOrderId") if isinstance(message.payload, dict) \
            else None
        if isinstance(order, str):
            # Numbered per drone: work orders of different drones may reach an IDE in
            # either order, those of one drone come in the order it streams them.
            drone = message.payload.get("registrationId")
            source = norm.text(drone) if isinstance(drone, str) else ""
            key = (message.actor, source, order)
            if key not in groups:
                count = sum(1 for k in groups if k[:2] == key[:2])
                groups[key] = f"{source}#{count + 1}"
            item = replace(item, group=groups[key])
        if message.seq in tags:
            item = replace(item, tags=frozenset(tags[message.seq]))
        items[(item.actor, item.channel)].append(item)
    obs.items = dict(items)
    obs.tags = frozenset(tag for found in tags.values() for tag in found)
    connects: dict[str, int] = defaultdict(int)
    for message in history:
        if message.direction == "connect":
            connects[message.actor] += 1
    obs.reconnected = frozenset(actor for actor, count in connects.items() if count > 1)
    obs.ack_positions = _ack_positions(history)
    deliveries, _ = match_deliveries(history)
    latencies: dict[str, list[float]] = defaultdict(list)
    for delivery in deliveries:
        latencies[delivery.sent.event].append(delivery.latency)
    obs.latencies = dict(latencies)
    return obs


def _answers(history: Iterable[Message]) -> dict[int, Message]:
    """The answer of each sent message, by the sent message's seq."""
    out: dict[int, Message] = {}
    pending_http: dict[str, list[int]] = defaultdict(list)
    for message in history:
        sent_seq = message.meta.get("sent_seq")
        if message.direction in ("ack", "ack-timeout") and isinstance(sent_seq, int):
            out.setdefault(sent_seq, message)
        elif message.kind == "http":
            if message.direction == "sent":
                pending_http[message.actor].append(message.seq)
            elif pending_http[message.actor]:
                out[pending_http[message.actor].pop(0)] = message
    return out


def step_number(title: str) -> tuple[int, ...]:
    """``step 2.1.3 (emit ...)`` -> (2, 1, 3); () for a title without a number."""
    found = _STEP.match(title)
    return tuple(int(n) for n in found[1].split(".")) if found else ()


def _item(message: Message, norm: Normaliser, answers: dict[int, Message], step: str,
          line: int | None, at: tuple[int, ...]) -> Item | None:
    event = norm.text(message.event) if message.kind == "http" else message.event
    make: Callable[..., Item] = partial(Item, actor=message.actor, event=event, step=step,
                                        line=line, seq=message.seq, at=at)
    if message.kind == "http":
        if message.direction != "sent":
            return None
        reply = answers.get(message.seq)
        answer: Any = None
        if reply is not None:
            answer = {"status": reply.meta.get("status"), "body": norm.value(reply.payload)} \
                if reply.direction == "received" else f"<{reply.event}>"
        return make(channel="http", payload=norm.value(message.payload), answer=answer)
    direction = message.direction
    if direction == "sent":
        reply = answers.get(message.seq)
        if reply is None:
            answer = None
        elif reply.direction == "ack-timeout":
            answer = NO_ACK if reply.meta.get("reason") == "timeout" else "<disconnected>"
        else:
            answer = norm.value(reply.ack)
        return make(channel="emit", payload=norm.value(message.payload), answer=answer)
    if direction == "received":
        return make(channel="receive", payload=norm.value(message.payload))
    if direction == "connect":
        return make(channel="link")
    if direction == "connect-error":
        return make(channel="link", payload=norm.value(message.payload))
    if direction == "disconnect":
        reason = message.meta.get("reason")
        if reason in _OWN_LEAVING:
            return None  # the harness's own doing, not the relay's
        return make(channel="link", payload={"reason": reason})
    return None


def _ack_positions(history: Sequence[Message]) -> list[tuple[str, str, int]]:
    """For each ack section 11.4 lets race its events: (actor, event, how many of those
    events the actor had received since it emitted)."""
    out: list[tuple[str, str, int]] = []
    sent_at: dict[int, Message] = {m.seq: m for m in history if m.direction == "sent"}
    for message in history:
        if message.direction != "ack" or message.event not in ACK_RACES:
            continue
        sent = sent_at.get(message.meta.get("sent_seq", -1))
        if sent is None:
            continue
        racing = ACK_RACES[message.event]
        before = sum(1 for m in history[sent.seq + 1:message.seq]
                     if m.actor == message.actor and m.direction == "received"
                     and m.event in racing)
        out.append((message.actor, message.event, before))
    return out


def _tags(history: Sequence[Message], norm: Normaliser) -> dict[int, set[str]]:
    """The tags of messages, by seq: what a normalised payload no longer shows."""
    out: dict[int, set[str]] = defaultdict(set)
    pending: dict[str, set[int]] = defaultdict(set)  # registration -> lock requests open
    named_unknown: set[str] = set()  # drones whose last stream named an unknown order
    for message in history:
        payload = message.payload if isinstance(message.payload, dict) else {}
        if message.direction == "sent" and message.event == Event.REQUEST_SESSION_LOCK:
            drone = payload.get("registrationId")
            if isinstance(drone, str):
                if pending[drone]:
                    out[message.seq].add(LOCK_WHILE_PENDING)
                pending[drone].add(message.seq)
        elif message.event == Event.REQUEST_SESSION_LOCK and (
                message.direction == "ack" or (message.direction == "ack-timeout"
                                               and message.meta.get("reason") != "timeout")):
            # An IDE that gave up waiting leaves the relay still waiting for the drone.
            for requests in pending.values():
                requests.discard(message.meta.get("sent_seq", -1))
        if message.kind == "drone" and message.direction == "sent" \
                and isinstance(payload.get("workOrderId"), str):
            if norm.text(payload["workOrderId"]) == UNKNOWN_WORK_ORDER:
                named_unknown.add(message.actor)
            else:
                named_unknown.discard(message.actor)
        if message.direction == "received" and message.event == Event.PROTOCOL_ERROR \
                and message.actor in named_unknown:
            out[message.seq].add(AFTER_UNKNOWN_WORK_ORDER)
    return out
