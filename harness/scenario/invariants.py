"""The automatic checks run over a scenario's whole message history. Pure: history in,
violations out. The semantics are documented in ``docs/scenarios.md`` ("Invariants").

    delivery          every stream event a drone emitted for a work order reached every IDE on
                      that chat session exactly once and in order (no gap, duplicate, reorder,
                      phantom event or wrong registrationId)
    isolation         no stream event reached an IDE not on its chat session, or of another
                      user; an event marked ``negative`` reached nobody (one marked
                      ``optional`` may reach the IDEs of its chat session, or nobody)
    after-disconnect  nothing reached a drone or IDE on a socket whose disconnect was recorded
    acks              every emit that waits for an ack got one, or a recorded ack-timeout
    leaks             (``check_leaks``) no session or index entry outlives its client
    secrets           (``check_secrets``) no token of the run appears in the relay's log
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.outcome.findings import Violation
from harness.protocol import FORWARDED_DRONE_EVENTS, IDE_EVENTS, Event
from harness.sim.history import Message
from harness.text import short

ACKED_EVENTS = (*IDE_EVENTS, Event.REQUEST_CRASH_RECOVERY)


@dataclass(frozen=True)
class CheckContext:
    """What the history alone does not say.

    ``end_seq``: history seq at which the steps (and the settle wait) ended; a disconnect
    after it is teardown, not "midway". ``None`` treats every disconnect as midway.
    ``chat_session_owner``/``actor_users``: user ids, for the other-user check.
    ``actor_registrations``: drone actor -> registration id, for the registrationId check.
    """

    end_seq: int | None = None
    chat_session_owner: Mapping[str, str] = field(default_factory=dict)
    actor_users: Mapping[str, str] = field(default_factory=dict)
    actor_registrations: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Conn:
    actor: str
    kind: str
    sid: str | None
    start: int
    end: int | None = None
    reason: str | None = None

    def live_at(self, seq: int) -> bool:
        return self.start < seq and (self.end is None or seq < self.end)

    def __str__(self) -> str:
        return f"{self.kind} {self.actor} ({self.sid or 'no socket id'})"


@dataclass
class _Send:
    index: int
    message: Message
    conn: _Conn | None
    negative: bool
    optional: bool = False  # the relay may drop it or forward it to its chat session (11.7)

    @property
    def label(self) -> str:
        payload = self.message.payload
        seq = payload.get("seq") if isinstance(payload, dict) else None
        work_order = payload.get("workOrderId") if isinstance(payload, dict) else None
        text = self.message.event if seq is None else f"{self.message.event} seq {seq}"
        return f"{text} of work order {work_order}"


def _connections(messages: Sequence[Message]) -> list[_Conn]:
    conns: list[_Conn] = []
    open_by_actor: dict[str, list[_Conn]] = defaultdict(list)
    for m in messages:
        if m.kind not in ("ide", "drone"):
            continue
        if m.direction == "connect":
            conn = _Conn(m.actor, m.kind, m.socket_id, m.seq)
            conns.append(conn)
            open_by_actor[m.actor].append(conn)
        elif m.direction == "disconnect":
            live = open_by_actor[m.actor]
            match = next((c for c in live if c.sid == m.socket_id), None)
            if match is None and live:
                match = live[-1]
            if match is not None:
                match.end, match.reason = m.seq, m.meta.get("reason")
                live.remove(match)
    return conns


def _conn_of(conns: Sequence[_Conn], m: Message) -> _Conn | None:
    for conn in conns:
        if conn.actor == m.actor and conn.live_at(m.seq) and (
                m.socket_id is None or conn.sid == m.socket_id):
            return conn
    return None


def _key(event: str, payload: Any) -> tuple[str, str]:
    """What pairs a received event with the sent one: event, work order and seq."""
    if isinstance(payload, dict):
        return event, json.dumps([payload.get("workOrderId"), payload.get("seq")], default=str)
    return event, json.dumps(payload, sort_keys=True, default=str)


def _altered(sent: Any, received: Any) -> str | None:
    """The first field the drone sent that the forwarded event lacks or changed, else None.
    The relay adds registrationId (replacing the drone's) and may add fields (11.2)."""
    if not isinstance(sent, dict) or not isinstance(received, dict):
        return None if sent == received else "payload"
    for key, value in sent.items():
        if key != "registrationId" and (key not in received or received[key] != value):
            return str(key)
    return None


def check_history(messages: Sequence[Message],
                  context: CheckContext | None = None) -> list[Violation]:
    """Every violation of delivery, isolation, after-disconnect and acks in ``messages``."""
    context = context or CheckContext()
    conns = _connections(messages)
    return [*_after_disconnect(messages, conns), *_acks(messages),
            *_delivery(messages, conns, context)]


def _after_disconnect(messages: Sequence[Message], conns: list[_Conn]) -> list[Violation]:
    out: list[Violation] = []
    for m in messages:
        if m.kind not in ("ide", "drone") or m.direction not in ("received", "acked"):
            continue
        if _conn_of(conns, m) is not None:
            continue
        ended = [c for c in conns if c.actor == m.actor and c.end is not None and c.end < m.seq
                 and (m.socket_id is None or c.sid == m.socket_id)]
        when = f" after its disconnect (seq {ended[-1].end}, {ended[-1].reason or 'no reason'})" \
            if ended else " while it had no connection"
        sid = m.socket_id or "no socket id"
        out.append(Violation("after-disconnect",
                             f"{m.event} reached {m.kind} {m.actor} ({sid}){when}",
                             m.actor, (m.seq,), "after-disconnect"))
    return out


def _answered(messages: Sequence[Message]) -> dict[int, Message]:
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


def _acks(messages: Sequence[Message]) -> list[Violation]:
    answers = _answered(messages)
    out: list[Violation] = []
    for m in messages:
        if m.kind in ("ide", "drone") and m.direction == "sent" and m.event in ACKED_EVENTS \
                and m.meta.get("ack", True) and m.seq not in answers:
            out.append(Violation("acks", f"{m.event} emitted by {m.kind} {m.actor} "
                                         f"(seq {m.seq}) got neither an ack nor an ack-timeout",
                                 m.actor, (m.seq,), "unanswered"))
    return out


def _opens(messages: Sequence[Message]) -> dict[tuple[str, str | None],
                                             list[tuple[str, int, int | None]]]:
    """(ide, sid) -> [(chat session, seq sent, seq of its ok ack or None)]; refusals left out.

    An open with no answer (or an ack-timeout) still counts as sent: the relay may have
    indexed it, so events may arrive, but none are required.
    """
    answers = _answered(messages)
    opens: dict[tuple[str, str | None], list[tuple[str, int, int | None]]] = defaultdict(list)
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


def _delivery(messages: Sequence[Message], conns: list[_Conn],
              context: CheckContext) -> list[Violation]:
    end_seq = context.end_seq
    if end_seq is None:
        end_seq = messages[-1].seq + 1 if messages else 0
    sends: list[_Send] = []
    by_key: dict[tuple[str, str], list[_Send]] = defaultdict(list)
    for m in messages:
        if m.kind == "drone" and m.direction == "sent" and m.event in FORWARDED_DRONE_EVENTS \
                and isinstance(m.payload, dict):
            send = _Send(len(sends), m, _conn_of(conns, m), bool(m.meta.get("negative")),
                         bool(m.meta.get("optional")))
            sends.append(send)
            by_key[_key(m.event, m.payload)].append(send)
    opens = _opens(messages)
    out: list[Violation] = []
    received: dict[tuple[int, str], list[tuple[Message, _Send]]] = defaultdict(list)
    conn_index = {id(c): i for i, c in enumerate(conns)}
    for m in messages:
        if m.kind != "ide" or m.direction != "received" or m.event not in FORWARDED_DRONE_EVENTS:
            continue
        conn = _conn_of(conns, m)
        who = str(conn) if conn else f"ide {m.actor} ({m.socket_id or 'no socket id'})"
        keyed = [s for s in by_key.get(_key(m.event, m.payload), []) if s.message.seq < m.seq]
        # The fullest sent payload the received one carries: a malformed event with fewer
        # fields (same work order and seq) must not take the place of the real one.
        candidates = sorted((s for s in keyed if _altered(s.message.payload, m.payload) is None),
                            key=lambda s: -len(s.message.payload))
        used = {s.index for _, s in received.get((conn_index.get(id(conn), -1), m.actor), [])}
        fresh = [s for s in candidates if s.index not in used]
        source = (fresh or candidates)[0] if candidates else None
        if source is None and keyed:
            field = _altered(keyed[0].message.payload, m.payload)
            out.append(Violation("delivery", f"{who} received {keyed[0].label} with its "
                                 f"field {field} changed or missing: {short(m.payload)}",
                                 m.actor, (keyed[0].message.seq, m.seq), "altered"))
            continue
        if source is None:
            out.append(Violation("delivery", f"{who} received {m.event} {short(m.payload)} "
                                 "that no drone sent", m.actor, (m.seq,), "phantom"))
            continue
        if source.negative:
            out.append(Violation("isolation", f"{source.label}, emitted by drone "
                                 f"{source.message.actor} as a forbidden (negative) event, "
                                 f"reached {who}", m.actor, (source.message.seq, m.seq),
                                 "negative"))
            continue
        out += _scope(m, source, who, opens, context)
        received[(conn_index.get(id(conn), -1), m.actor)].append((m, source))
    for conn in conns:
        if conn.kind == "ide":
            out += _per_ide(conn, sends, received.get((conn_index[id(conn)], conn.actor), []),
                            opens.get((conn.actor, conn.sid), []), end_seq)
    return sorted(out, key=lambda v: v.seqs)


def _scope(m: Message, send: _Send, who: str, opens: Mapping[tuple[str, str | None],
           list[tuple[str, int, int | None]]], context: CheckContext) -> list[Violation]:
    out: list[Violation] = []
    payload = send.message.payload
    chat = str(payload.get("chatSessionId"))
    opened = [o for o in opens.get((m.actor, m.socket_id), []) if o[0] == chat and o[1] < m.seq]
    if not opened:
        out.append(Violation("isolation", f"{send.label} for chat session {chat} reached {who}, "
                             "which is not on that chat session", m.actor,
                             (send.message.seq, m.seq), "scope"))
    owner, user = context.chat_session_owner.get(chat), context.actor_users.get(m.actor)
    if owner and user and owner != user:
        out.append(Violation("isolation", f"{send.label} of user {owner} reached {who} of "
                             f"another user ({user})", m.actor, (send.message.seq, m.seq), "user"))
    expected = context.actor_registrations.get(send.message.actor)
    got = m.payload.get("registrationId") if isinstance(m.payload, dict) else None
    if expected and got != expected:
        out.append(Violation("delivery", f"{send.label} reached {who} with registrationId "
                             f"{got!r}, but drone {send.message.actor}'s is {expected}",
                             m.actor, (send.message.seq, m.seq), "registration"))
    return out


def _per_ide(conn: _Conn, sends: list[_Send], got: list[tuple[Message, _Send]],
             opens: list[tuple[str, int, int | None]], end_seq: int) -> list[Violation]:
    out: list[Violation] = []
    by_work_order: dict[str, list[tuple[Message, _Send]]] = defaultdict(list)
    for m, send in got:
        by_work_order[str(send.message.payload.get("workOrderId"))].append((m, send))
    last: dict[str, _Send] = {}
    seen: set[int] = set()
    for m, send in got:
        work_order = str(send.message.payload.get("workOrderId"))
        if send.index in seen:
            out.append(Violation("delivery", f"{send.label} reached {conn} more than once",
                                 conn.actor, (send.message.seq, m.seq), "duplicate"))
            continue
        previous = last.get(work_order)
        if previous is not None and previous.index > send.index:
            out.append(Violation("delivery", f"{send.label} reached {conn} after "
                                 f"{previous.label}, out of order", conn.actor,
                                 (send.message.seq, m.seq), "order"))
        seen.add(send.index)
        last[work_order] = send
    midway = conn.end is not None and conn.end < end_seq
    on = [(chat, acked) for chat, _, acked in opens if acked is not None]
    required: dict[str, list[_Send]] = defaultdict(list)
    for send in sends:
        payload = send.message.payload
        if send.negative or send.optional or not any(chat == str(payload.get("chatSessionId")) and
                                    acked < send.message.seq for chat, acked in on):
            continue
        if send.message.seq >= end_seq or (conn.end is not None and send.message.seq > conn.end):
            continue
        required[str(payload.get("workOrderId"))].append(send)
    for work_order, needed in required.items():
        have = {s.index for _, s in by_work_order.get(work_order, [])}
        if not have and midway:
            continue
        low, high = (min(have), max(have)) if have else (None, None)
        for send in needed:
            if send.index in have:
                continue
            if midway and low is not None and high is not None and \
                    not low < send.index < high:
                continue  # an IDE that left midway needs only a contiguous run
            if _crash_tail(send, have, sends):
                continue
            out.append(Violation("delivery", f"{send.label} (emitted by drone "
                                 f"{send.message.actor} at seq {send.message.seq}) never "
                                 f"reached {conn} on chat session "
                                 f"{send.message.payload.get('chatSessionId')}", conn.actor,
                                 (send.message.seq,), "missing"))
    return out


def _crash_tail(send: _Send, have: set[int], sends: list[_Send]) -> bool:
    """True when ``send`` is in the undelivered tail of a drone connection that crashed."""
    conn = send.conn
    if conn is None or conn.reason != "crash":
        return False
    return not any(s.conn is conn and s.index > send.index and s.index in have for s in sends)



def check_leaks(snapshot: Mapping[str, Any], ours: Mapping[str, str]) -> list[Violation]:
    """Entries of the relay's maps (introspection ``snapshot``) that belong to this run.

    ``ours`` maps every id this run used (socket ids, registration, user and chat session
    ids) to a description such as ``"socket of drone d0"``. Call after every client left.
    """
    out: list[Violation] = []
    maps = snapshot.get("maps", {}) if isinstance(snapshot, Mapping) else {}
    for name, entry in sorted(maps.items()):
        keys = entry.get("keys", []) if isinstance(entry, Mapping) else []
        for key in keys:
            if str(key) in ours:
                out.append(Violation("leaks", f"the relay's {name} map still holds {key} "
                                     f"({ours[str(key)]}) after every client disconnected",
                                     code="leak"))
    return out


def check_secrets(logs: Mapping[str, str], secrets: Mapping[str, str]) -> list[Violation]:
    """Tokens of this run that appear in a process log (``logs``: name -> text).

    ``secrets`` maps each token to a description such as ``"the API token of user <id>"``;
    a violation names the log, the line number and the description, never the token.
    """
    out: list[Violation] = []
    for name, text in sorted(logs.items()):
        found: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            for token, what in secrets.items():
                if token and what not in found and token in line:
                    found[what] = number
        for what, number in found.items():
            out.append(Violation("secrets", f"the {name} log shows {what} in clear "
                                 f"(line {number})", code="token"))
    return out
