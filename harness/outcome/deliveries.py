"""Which drone send each IDE receipt delivers, and which sends an IDE was owed and missed.

One reading of the relay's forwarding rules (contract section 5: a stream event or
``workOrderComplete`` goes to every code session on its chat session, once, in order, with
``registrationId`` added) for everything that pairs sends with receipts: the delivery and
isolation invariants (``harness.scenario.invariants``), the latency report and the sequence
diagram's lost rows (``harness.report``). The load checker (``harness.load.invariants``)
streams in bounded memory, so it cannot hold a history; it uses ``stream_fields`` and
``is_owed`` from here and applies the same rules message by message.

    key        a forwarded drone event is known by (event, workOrderId, seq)
    carries    the relay forwards the payload as sent: it sets ``registrationId`` and may add
               fields (11.2); any other field changed or missing is an alteration
    owed       a send marked ``negative`` (the relay must drop it) or ``optional`` (it may) is
               owed to nobody; any other to every IDE connection on its chat session (an open
               acked ok before the send) until that connection ends
    pairing    a receipt delivers the fullest earlier send with its key that it carries; of
               those, one this connection has not had yet, the earliest (FIFO per work order)
    missed     an owed send that an IDE connection it was owed never received; ``excuse``
               says why no one may hold that against the relay: ``crash`` (the tail a drone
               lost when it crashed or its connection dropped: a fault, a relay going down),
               ``goodbye`` (the tail a drone sent just before its own goodbye: socket.io's
               server dispatches each event on the next tick and ignores one whose socket
               was disconnected meanwhile, so events read together with the DISCONNECT are
               dropped by any relay built on it), ``left`` (the IDE left midway: it owes a
               contiguous run)
    lost       a send missed by someone; where the history records no ``openChatSession`` at
               all (so who was on a chat session is unknown), an owed send that no IDE received
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from harness.protocol import FORWARDED_DRONE_EVENTS, IDE_EVENTS, Event
from harness.sim.history import Message
from harness.sim.reconnect import RECONNECTING_CAUSES

__all__ = [
    "ACKED_EVENTS",
    "Connection",
    "Deliveries",
    "Missed",
    "Receipt",
    "Send",
    "altered",
    "answered",
    "connection_of",
    "connections",
    "is_owed",
    "pair",
    "paired",
    "stream_fields",
]

ACKED_EVENTS = (*IDE_EVENTS, Event.REQUEST_CRASH_RECOVERY)

Key = tuple[str, str]
Open = tuple[str, int, int | None]  # chat session, seq sent, seq of its ok ack (or None)


@dataclass(eq=False)
class Connection:
    """One socket of an actor, from its connect to its disconnect (history seqs)."""

    actor: str
    kind: str
    sid: str | None
    start: int
    end: int | None = None
    reason: str | None = None
    cause: str | None = None  # socket.io-client's reason, where the client recorded one

    @property
    def dropped(self) -> bool:
        """True when the socket ended abruptly: its process crashed, or the network or the
        relay's transport dropped it (not a goodbye of either side)."""
        return self.reason == "crash" or self.cause in RECONNECTING_CAUSES

    def live_at(self, seq: int) -> bool:
        """True when the socket was connected at history seq ``seq``."""
        return self.start < seq and (self.end is None or seq < self.end)

    def __str__(self) -> str:
        return f"{self.kind} {self.actor} ({self.sid or 'no socket id'})"


@dataclass(eq=False)
class Send:
    """A forwarded drone event as the drone emitted it; ``index`` is its order among sends."""

    index: int
    message: Message
    conn: Connection | None
    negative: bool
    optional: bool = False

    @property
    def owed(self) -> bool:
        """True unless the relay must (negative) or may (optional) drop it."""
        return not (self.negative or self.optional)

    @property
    def chat_session(self) -> str:
        """The chat session the drone streamed it for."""
        return str(self.message.payload.get("chatSessionId"))

    @property
    def work_order(self) -> str:
        """The work order it belongs to."""
        return str(self.message.payload.get("workOrderId"))

    @property
    def label(self) -> str:
        """``thinking seq 3 of work order <id>``."""
        seq = self.message.payload.get("seq")
        text = self.message.event if seq is None else f"{self.message.event} seq {seq}"
        return f"{text} of work order {self.work_order}"


@dataclass(frozen=True)
class Receipt:
    """An IDE's receipt of a forwarded event: the send it delivers (None: phantom or
    altered), and every earlier send with its key (``keyed``, to name an alteration)."""

    message: Message
    conn: Connection | None
    send: Send | None
    keyed: tuple[Send, ...] = ()

    @property
    def receiver(self) -> str:
        """The IDE as a person reads it: kind, actor and socket id."""
        return str(self.conn) if self.conn else \
            f"ide {self.message.actor} ({self.message.socket_id or 'no socket id'})"


@dataclass(frozen=True)
class Missed:
    """An owed send that ``conn`` never received (``conn`` None: no IDE is known to have
    been on the chat session, and none received it). ``excuse``: see the module table."""

    send: Send
    conn: Connection | None
    excuse: str | None = None


def stream_fields(payload: Any) -> tuple[str, str, int] | None:
    """``(workOrderId, chatSessionId, seq)`` of a well-formed forwarded payload, else None."""
    if not isinstance(payload, dict):
        return None
    work_order, chat, seq = payload.get("workOrderId"), payload.get("chatSessionId"), \
        payload.get("seq")
    if isinstance(work_order, str) and isinstance(chat, str) and isinstance(seq, int):
        return work_order, chat, seq
    return None


def is_owed(message: Message) -> bool:
    """False for a send marked ``negative`` or ``optional``: no IDE is owed it."""
    return not (message.meta.get("negative") or message.meta.get("optional"))


def _key(event: str, payload: Any) -> Key:
    if isinstance(payload, dict):
        work_order, seq = payload.get("workOrderId"), payload.get("seq")
        if type(work_order) is str and type(seq) is int:  # the usual case: no JSON needed
            return event, f"{work_order}\x00{seq}"
        return event, json.dumps([work_order, seq], default=str)
    return event, json.dumps(payload, sort_keys=True, default=str)


def altered(sent: Any, received: Any) -> str | None:
    """The first field the drone sent that the forwarded event lacks or changed, else None.
    The relay adds registrationId (replacing the drone's) and may add fields (11.2)."""
    if not isinstance(sent, dict) or not isinstance(received, dict):
        return None if sent == received else "payload"
    for key, value in sent.items():
        if key != "registrationId" and (key not in received or received[key] != value):
            return str(key)
    return None


def connections(messages: Iterable[Message]) -> list[Connection]:
    """Every IDE and drone socket in ``messages``, with when and why it ended."""
    conns: list[Connection] = []
    open_by_actor: dict[str, list[Connection]] = defaultdict(list)
    for m in messages:
        if m.kind not in ("ide", "drone"):
            continue
        if m.direction == "connect":
            conn = Connection(m.actor, m.kind, m.socket_id, m.seq)
            conns.append(conn)
            open_by_actor[m.actor].append(conn)
        elif m.direction == "disconnect":
            live = open_by_actor[m.actor]
            match = next((c for c in live if c.sid == m.socket_id), None)
            if match is None and live:
                match = live[-1]
            if match is not None:
                match.end, match.reason = m.seq, m.meta.get("reason")
                match.cause = m.meta.get("cause")
                live.remove(match)
    return conns


def connection_of(conns: Sequence[Connection], m: Message) -> Connection | None:
    """The connection ``m`` travelled on (its actor's, live then, same socket id)."""
    for conn in conns:
        if conn.actor == m.actor and conn.live_at(m.seq) and (
                m.socket_id is None or conn.sid == m.socket_id):
            return conn
    return None


def answered(messages: Iterable[Message]) -> dict[int, Message]:
    """seq of a "sent" -> its "ack"/"ack-timeout" (by ``meta.sent_seq``, else FIFO per event)."""
    answers: dict[int, Message] = {}
    pending: dict[tuple[str, str], list[int]] = defaultdict(list)
    for m in messages:
        if m.kind not in ("ide", "drone"):
            continue
        if m.direction == "sent" and m.event in ACKED_EVENTS:
            pending[(m.actor, m.event)].append(m.seq)
        elif m.direction in ("ack", "ack-timeout"):
            queue = pending[(m.actor, m.event)]
            sent = m.meta.get("sent_seq")
            if sent in queue:
                queue.remove(sent)
            elif queue:
                sent = queue.pop(0)
            if isinstance(sent, int):
                answers[sent] = m
    return answers


def _opens(messages: Sequence[Message]) -> dict[tuple[str, str | None], list[Open]]:
    """(ide, sid) -> [(chat session, seq sent, seq of its ok ack or None)]; refusals left out.

    An open with no answer (or an ack-timeout) still counts as sent: the relay may have
    indexed it, so events may arrive, but none are required.
    """
    answers = answered(messages)
    opens: dict[tuple[str, str | None], list[Open]] = defaultdict(list)
    for m in messages:
        if m.kind != "ide" or m.event != Event.OPEN_CHAT_SESSION or m.direction != "sent" \
                or not isinstance(m.payload, dict):
            continue
        answer = answers.get(m.seq)
        ok = answer is not None and answer.direction == "ack" and \
            isinstance(answer.ack, dict) and answer.ack.get("ok") is True
        if answer is None or ok or answer.direction == "ack-timeout":
            opens[(m.actor, m.socket_id)].append(
                (str(m.payload.get("chatSessionId")), m.seq,
                 answer.seq if ok and answer is not None else None))
    return opens


@dataclass
class Deliveries:
    """Sends and receipts of forwarded drone events in one history, paired (``pair``)."""

    connections: list[Connection]
    sends: list[Send]
    receipts: list[Receipt]
    opens: Mapping[tuple[str, str | None], list[Open]]
    end_seq: int
    knows_opens: bool = True
    _by_receiver: dict[tuple[Connection | None, str], list[Receipt]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        for receipt in self.receipts:
            self._by_receiver.setdefault((receipt.conn, receipt.message.actor),
                                         []).append(receipt)

    def received_by(self, conn: Connection) -> list[Receipt]:
        """The receipts on ``conn``, in history order."""
        return self._by_receiver.get((conn, conn.actor), [])

    def on_chat(self, message: Message, chat: str) -> bool:
        """True when the IDE of ``message`` had opened ``chat`` (sent, not refused) before it."""
        return any(o[0] == chat and o[1] < message.seq
                   for o in self.opens.get((message.actor, message.socket_id), []))

    def owed_to(self, conn: Connection) -> list[Send]:
        """The sends the IDE connection ``conn`` was owed (module table, ``owed``)."""
        acked = [(chat, at) for chat, _, at in self.opens.get((conn.actor, conn.sid), [])
                 if at is not None]
        return [s for s in self.sends
                if s.owed and s.message.seq < self.end_seq
                and (conn.end is None or s.message.seq <= conn.end)
                and any(chat == s.chat_session and at < s.message.seq for chat, at in acked)]

    def missed(self) -> list[Missed]:
        """Every (owed send, IDE connection) that never met, with its excuse; history order."""
        out: list[Missed] = []
        if not self.knows_opens:
            got = {r.send.index for r in self.receipts if r.send is not None}
            return [Missed(s, None) for s in self.sends if s.owed and s.index not in got]
        for conn in self.connections:
            if conn.kind == "ide":
                out += self._missed_by(conn)
        return sorted(out, key=lambda m: m.send.message.seq)

    def _missed_by(self, conn: Connection) -> list[Missed]:
        have_by_work_order: dict[str, set[int]] = defaultdict(set)
        for receipt in self.received_by(conn):
            if receipt.send is not None and not receipt.send.negative:
                have_by_work_order[receipt.send.work_order].add(receipt.send.index)
        midway = conn.end is not None and conn.end < self.end_seq
        out: list[Missed] = []
        for send in self.owed_to(conn):
            have = have_by_work_order.get(send.work_order, set())
            if send.index in have:
                continue
            excuse = None
            if midway and (not have or not min(have) < send.index < max(have)):
                excuse = "left"  # an IDE that left midway owes only a contiguous run
            elif _crash_tail(send, have, self.sends):
                excuse = "crash"
            elif _goodbye_tail(send, have, self.sends):
                excuse = "goodbye"
            out.append(Missed(send, conn, excuse))
        return out

    def lost(self) -> list[Missed]:
        """One ``Missed`` per send that someone missed (the unexcused one first), in order."""
        first: dict[int, Missed] = {}
        for missed in self.missed():
            known = first.get(missed.send.index)
            if known is None or (known.excuse is not None and missed.excuse is None):
                first[missed.send.index] = missed
        return sorted(first.values(), key=lambda m: m.send.message.seq)


def _crash_tail(send: Send, have: set[int], sends: list[Send]) -> bool:
    """True when ``send`` is in the undelivered tail of a drone connection that crashed or
    was dropped (what was in flight went down with it)."""
    conn = send.conn
    if conn is None or not conn.dropped:
        return False
    return not any(s.conn is conn and s.index > send.index and s.index in have for s in sends)


def _goodbye_tail(send: Send, have: set[int], sends: list[Send]) -> bool:
    """True when ``send`` is in the undelivered tail of a drone connection that ended with
    the drone's own goodbye: nothing it sent later on that connection was delivered."""
    conn = send.conn
    if conn is None or conn.reason != "client":
        return False
    return not any(s.conn is conn and s.index > send.index and s.index in have for s in sends)


_PAIRED_KEPT: Final = 64
_paired: OrderedDict[int, tuple[Sequence[Message], Deliveries]] = OrderedDict()
_paired_lock = threading.Lock()


def paired(history: Sequence[Message]) -> Deliveries:
    """``pair(history)``, once per history: a run's report pairs each scenario's history
    for its sequence diagram, for its latency and for the run's latency table. The last
    ``_PAIRED_KEPT`` are kept, each with its history (so its id cannot be reused while it
    is kept). Thread-safe: reports render in worker threads."""
    with _paired_lock:
        found = _paired.get(id(history))
        if found is not None and found[0] is history:
            _paired.move_to_end(id(history))
            return found[1]
    deliveries = pair(history)
    with _paired_lock:
        _paired[id(history)] = (history, deliveries)
        while len(_paired) > _PAIRED_KEPT:
            _paired.popitem(last=False)
    return deliveries


def pair(messages: Sequence[Message], end_seq: int | None = None) -> Deliveries:
    """Pair every IDE receipt of a forwarded drone event with the send it delivers.

    ``end_seq``: the history seq at which the steps ended; a send at or after it is owed to
    nobody, and a disconnect before it is "midway". ``None``: the end of the history.
    """
    if end_seq is None:
        end_seq = messages[-1].seq + 1 if messages else 0
    conns = connections(messages)
    sends: list[Send] = []
    by_key: dict[Key, list[Send]] = defaultdict(list)
    for m in messages:
        if m.kind == "drone" and m.direction == "sent" and m.event in FORWARDED_DRONE_EVENTS \
                and isinstance(m.payload, dict):
            send = Send(len(sends), m, connection_of(conns, m), bool(m.meta.get("negative")),
                        bool(m.meta.get("optional")))
            sends.append(send)
            by_key[_key(m.event, m.payload)].append(send)
    receipts: list[Receipt] = []
    used: dict[tuple[Connection | None, str], set[int]] = defaultdict(set)
    for m in messages:
        if m.kind != "ide" or m.direction != "received" or m.event not in FORWARDED_DRONE_EVENTS:
            continue
        conn = connection_of(conns, m)
        keyed = [s for s in by_key.get(_key(m.event, m.payload), []) if s.message.seq < m.seq]
        # The fullest sent payload the received one carries: a malformed event with fewer
        # fields (same work order and seq) must not take the place of the real one.
        candidates = sorted((s for s in keyed if altered(s.message.payload, m.payload) is None),
                            key=lambda s: -len(s.message.payload))
        fresh = [s for s in candidates if s.index not in used[(conn, m.actor)]]
        source = (fresh or candidates)[0] if candidates else None
        if source is not None and not source.negative:
            used[(conn, m.actor)].add(source.index)
        receipts.append(Receipt(m, conn, source, tuple(keyed)))
    knows_opens = any(m.kind == "ide" and m.direction == "sent"
                      and m.event == Event.OPEN_CHAT_SESSION for m in messages)
    return Deliveries(conns, sends, receipts, _opens(messages), end_seq, knows_opens)
