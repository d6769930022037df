"""Exactly-once, order and isolation over a whole load run, in memory bounded by the open
streams (never by the number of events).

The checker is fed every message the simulated clients record (``observe``), in order, in
the process that runs both ends of each stream (a drone and the IDEs of the chat session
that locks it live in the same worker). It keeps, per open work order, the drone that streams
it and, per IDE, the next ``seq`` it expects; per event in flight (sent, not yet received)
its send time, for the delivery latency. A finished work order leaves only its id in a
bounded list of recent ones (to tell a late duplicate from a phantom).

    delivery/duplicate     an IDE received a seq it had already received
    delivery/order         an IDE received a seq past the one it expected (a gap or reorder)
    delivery/missing       an event was sent and had not reached an IDE on its chat session
                           when that IDE left, its work order overdue (not completed
                           within the completion timeout), or at the end of the run
    delivery/phantom       an IDE received an event for a work order no drone streamed
    delivery/registration  a forwarded event named another drone's registrationId
    isolation/scope        an IDE received an event of a chat session it did not open
    isolation/other-user   ... of a chat session of another user

A work order that does not complete within the driver's completion timeout is *overdue*
(``give_up``), not yet missing: an overloaded relay may deliver the rest late, and what
arrives late is checked like the rest (late is latency, not loss). What an IDE is still
owed of an overdue work order when it leaves is missing if it was sent at least
``patience`` seconds before (the completion timeout, in a load run); an event sent later
than that was cut short by the leaving, like any other (``lost_on_leave``). Without that
grace a drone that fell behind its pace on a saturated machine, still streaming an overdue
work order when the run ended, made the events it had just sent "missing": 3 in a
2,000-drone run.

An IDE that has sent ``openChatSession`` and not yet had its ok (``ide_opening``; an ack
that timed out included: an overloaded relay may index it all the same) may receive that
chat session's events: they are checked for duplicates and order, but owed only once the
open is acked ok.

The rules are those of ``harness.outcome.deliveries`` (which the scenario invariants, the
latency report and the sequence diagram share): the same payload fields, the same sends
owed to nobody (``negative``, ``optional``), the same IDEs owed the rest (those on the chat
session when it was sent). Only the bookkeeping differs: that module pairs a whole history
at once; this one keeps per open stream the next seq each IDE expects, so its memory stays
bounded by the open streams.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from harness.outcome.deliveries import is_owed, stream_fields
from harness.protocol import FORWARDED_DRONE_EVENTS, Event
from harness.sim.history import Message

__all__ = ["StreamChecker"]

MAX_SAMPLES: Final = 50  # violation messages kept verbatim (counts are always exact)
RECENT_WORK_ORDERS: Final = 4096

LatencySink = Callable[[str, float], None]
_NOBODY: Final[frozenset[str]] = frozenset()


def _label(ide_actor: str, event: str, seq: int, work_order: str) -> str:
    """How a violation names the receipt (built only when there is one)."""
    return f"{ide_actor} got {event} seq {seq} of work order {work_order}"


@dataclass
class _Stream:
    work_order: str
    chat_session: str
    registration: str
    drone: str
    # IDE actor -> next seq it expects (set when the drone sends while the IDE is on the chat)
    expect: dict[str, int] = field(default_factory=dict)
    # IDE actor -> next seq, for an IDE whose open is not acked yet (owed nothing)
    loose: dict[str, int] = field(default_factory=dict)
    last_seq: int = -1
    abandoned: bool = False
    overdue: bool = False  # not completed within the completion timeout
    done: set[str] = field(default_factory=set)


@dataclass
class _Ide:
    user: str
    chats: set[str] = field(default_factory=set)
    opening: set[str] = field(default_factory=set)  # open sent, no ok yet (maybe indexed)


class StreamChecker:
    """Streaming invariants and delivery latency of one worker's actors.

    Tell it who is who (``add_drone``, ``chat_owner``, ``ide_opened``/``ide_left``), feed it
    every message (``observe``), mark work orders a crash cut short (``abandon``), and call
    ``finish`` at the end. ``on_latency(event, seconds)`` gets every delivery latency.
    """

    def __init__(self, on_latency: LatencySink | None = None, *, patience: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._on_latency = on_latency
        self._patience = patience
        self._clock = clock  # the clock of the messages' ``t``
        self._drones: dict[str, tuple[str, str]] = {}  # actor -> (registration id, user id)
        self._chat_owner: dict[str, str] = {}
        self._ides: dict[str, _Ide] = {}
        self._on_chat: dict[str, set[str]] = {}  # chat session -> IDE actors on it now
        self._streams: dict[str, _Stream] = {}
        self._by_drone: dict[str, list[str]] = {}  # drone actor -> abandoned work orders
        self._inflight: dict[tuple[str, int], tuple[float, str, int]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self.violations: Counter[str] = Counter()
        self.samples: list[str] = []
        self.delivered: Counter[str] = Counter()
        self.lost_in_crash = 0
        self.lost_on_leave = 0

    # --- who is who ------------------------------------------------------------------
    def add_drone(self, actor: str, registration_id: str, user_id: str) -> None:
        """Declare a drone actor."""
        self._drones[actor] = (registration_id, user_id)

    def chat_owner(self, chat_session_id: str, user_id: str) -> None:
        """Declare the owner of a chat session."""
        self._chat_owner[chat_session_id] = user_id

    def ide_opening(self, actor: str, user_id: str, chat_session_id: str) -> None:
        """The IDE ``actor`` asks to open ``chat_session_id``: until its ok, the relay may
        or may not have indexed it (an ack that timed out included), so what it receives of
        that chat session is checked for order and duplicates but owed nothing."""
        self._ides.setdefault(actor, _Ide(user_id)).opening.add(chat_session_id)

    def ide_opened(self, actor: str, user_id: str, chat_session_id: str) -> None:
        """The IDE ``actor`` (of ``user_id``) has opened ``chat_session_id`` (acked ok)."""
        ide = self._ides.setdefault(actor, _Ide(user_id))
        ide.chats.add(chat_session_id)
        ide.opening.discard(chat_session_id)
        self._on_chat.setdefault(chat_session_id, set()).add(actor)

    def ide_left(self, actor: str) -> None:
        """The IDE ``actor`` disconnected: it is on no chat session any more, and what was
        still in flight to it is no longer expected (counted in ``lost_on_leave``), except
        what an overdue work order owes it since ``patience`` seconds or more (missing)."""
        ide = self._ides.get(actor)
        if ide is None:
            return
        overdue_before = self._clock() - self._patience
        for chat in ide.chats:
            self._on_chat.get(chat, set()).discard(actor)
        for stream in list(self._streams.values()):
            if stream.chat_session in ide.chats and actor in stream.expect:
                owed = stream.overdue and not stream.abandoned
                unsent = missing = 0
                for seq in range(stream.expect.pop(actor), stream.last_seq + 1):
                    flight = self._inflight.get((stream.work_order, seq))
                    if flight is not None:
                        unsent += 1
                        missing += owed and flight[0] <= overdue_before
                        self._settle((stream.work_order, seq), None, None)
                if missing:
                    self._missing(stream, missing, actor)
                self.lost_on_leave += unsent - missing
                stream.done.discard(actor)
                if stream.expect and stream.done >= set(stream.expect):
                    self._close(stream)
        ide.chats.clear()
        ide.opening.clear()

    # --- gauges ------------------------------------------------------------------------
    @property
    def open_streams(self) -> int:
        """Work orders being tracked."""
        return len(self._streams)

    @property
    def in_flight(self) -> int:
        """Events sent and not yet received by every IDE expected to receive them."""
        return len(self._inflight)

    # --- feeding -------------------------------------------------------------------------
    def observe(self, message: Message) -> None:
        """Take one recorded message (anything not a forwarded drone event is ignored)."""
        if message.event not in FORWARDED_DRONE_EVENTS or not isinstance(message.payload, dict):
            return
        if message.kind == "drone" and message.direction == "sent":
            if is_owed(message):
                self._sent(message)
        elif message.kind == "ide" and message.direction == "received":
            self._received(message)

    def _violate(self, kind: str, text: str) -> None:
        self.violations[kind] += 1
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(f"[{kind}] {text}")

    def _sent(self, message: Message) -> None:
        fields = stream_fields(message.payload)
        if fields is None:
            return
        work_order, chat, seq = fields
        stream = self._streams.get(work_order)
        if stream is None:
            registration = self._drones.get(message.actor, ("", ""))[0]
            self._purge_abandoned(message.actor)
            stream = _Stream(work_order, chat, registration, message.actor)
            self._streams[work_order] = stream
        stream.last_seq = max(stream.last_seq, seq)
        recipients = self._on_chat.get(chat, _NOBODY)
        for ide in recipients:
            stream.expect.setdefault(ide, seq)
        if recipients:
            self._inflight[(work_order, seq)] = (message.t, message.event, len(recipients))

    def _received(self, message: Message) -> None:
        payload: dict[str, Any] = message.payload
        ide_actor, event = message.actor, message.event
        fields = stream_fields(payload)
        if fields is None:
            self._violate("delivery/phantom", f"{ide_actor} got a malformed {event}: {payload}")
            return
        work_order, chat, seq = fields

        def label() -> str:  # built only for a violation
            return _label(ide_actor, event, seq, work_order)

        ide = self._ides.get(ide_actor)
        maybe_on = ide is not None and chat not in ide.chats and chat in ide.opening
        if ide is None or (chat not in ide.chats and not maybe_on):
            owner = self._chat_owner.get(chat)
            if ide is not None and owner is not None and owner != ide.user:
                self._violate("isolation/other-user",
                              f"{label()}: chat session {chat} belongs to another user")
            else:
                self._violate("isolation/scope",
                              f"{label()}: it has not opened chat session {chat}")
            return
        stream = self._streams.get(work_order)
        if stream is None:
            if work_order in self._recent:
                self._violate("delivery/duplicate", f"{label()} after the work order finished")
            else:
                self._violate("delivery/phantom", f"{label()}: no drone streamed it")
            return
        if payload.get("registrationId") != stream.registration:
            self._violate("delivery/registration",
                          f"{label()} with registrationId {payload.get('registrationId')}, "
                          f"streamed by {stream.registration}")
        if maybe_on and ide_actor not in stream.expect:
            self._received_loose(stream, ide_actor, seq, event, work_order)
            return
        expected = stream.expect.get(ide_actor)
        if expected is None or seq < expected:
            self._violate("delivery/duplicate", f"{label()}, expected seq {expected}")
            return
        if seq > expected:
            self._violate("delivery/order",
                          f"{label()}, expected seq {expected} (missing {seq - expected})")
            for skipped in range(expected, seq):
                self._settle((work_order, skipped), None, None)
        stream.expect[ide_actor] = seq + 1
        self.delivered[event] += 1
        self._settle((work_order, seq), message.t, event)
        if event == Event.WORK_ORDER_COMPLETE:
            stream.done.add(ide_actor)
            if stream.done >= set(stream.expect):
                self._close(stream)

    def _received_loose(self, stream: _Stream, ide_actor: str, seq: int, event: str,
                        work_order: str) -> None:
        """A receipt of an IDE indexed by an open not yet acked: owed nothing, but each
        event once and in order from the first one it gets."""
        expected = stream.loose.get(ide_actor, seq)
        if seq < expected:
            self._violate("delivery/duplicate",
                          f"{_label(ide_actor, event, seq, work_order)}, expected seq {expected}")
        elif seq > expected:
            self._violate("delivery/order", f"{_label(ide_actor, event, seq, work_order)}, "
                          f"expected seq {expected} (missing {seq - expected})")
        stream.loose[ide_actor] = max(expected, seq + 1)
        self.delivered[event] += 1

    def _settle(self, key: tuple[str, int], received_at: float | None, event: str | None) -> None:
        entry = self._inflight.get(key)
        if entry is None:
            return
        sent_at, sent_event, waiting = entry
        if received_at is not None and self._on_latency is not None:
            self._on_latency(sent_event, received_at - sent_at)
        if waiting <= 1:
            del self._inflight[key]
        else:
            self._inflight[key] = (sent_at, sent_event, waiting - 1)

    def _close(self, stream: _Stream) -> None:
        self._streams.pop(stream.work_order, None)
        self._recent[stream.work_order] = None
        if len(self._recent) > RECENT_WORK_ORDERS:
            self._recent.popitem(last=False)

    # --- endings ------------------------------------------------------------------------
    def abandon(self, work_order_id: str) -> None:
        """A crash (or a give-up) cut this work order short: its undelivered tail is no
        violation. What still arrives is checked until the drone starts another one."""
        stream = self._streams.get(work_order_id)
        if stream is None or stream.abandoned:
            return
        stream.abandoned = True
        self._by_drone.setdefault(stream.drone, []).append(work_order_id)

    def _purge_abandoned(self, drone: str) -> None:
        for work_order in self._by_drone.pop(drone, []):
            stream = self._streams.get(work_order)
            if stream is not None:
                self._drop(stream)

    def _missing(self, stream: _Stream, count: int, waiting: str) -> None:
        self.violations["delivery/missing"] += count
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(
                f"[delivery/missing] {count} event(s) of work order {stream.work_order} "
                f"(drone {stream.drone}, chat session {stream.chat_session}) never reached "
                f"{waiting}")

    def _drop(self, stream: _Stream, *, missing: bool = False) -> None:
        keys = [k for k in self._inflight if k[0] == stream.work_order]
        for key in keys:
            del self._inflight[key]
        if missing and keys:
            self._missing(stream, len(keys),
                          ", ".join(sorted(set(stream.expect) - stream.done)) or "no IDE")
        elif keys:
            self.lost_in_crash += len(keys)
        self._close(stream)

    def give_up(self, work_order_id: str) -> None:
        """The work order did not complete within the completion timeout, with no crash to
        excuse it: it is overdue. What still arrives is checked as usual; what its IDEs
        are still owed when they leave is missing."""
        stream = self._streams.get(work_order_id)
        if stream is not None and not stream.abandoned:
            stream.overdue = True

    def finish(self) -> None:
        """End of run: every event still in flight on a stream not abandoned is missing."""
        for stream in list(self._streams.values()):
            self._drop(stream, missing=not stream.abandoned)
        self._by_drone.clear()
