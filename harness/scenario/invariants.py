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

Which receipt delivers which send, and who was owed what, is ``harness.outcome.deliveries``:
the latency report and the sequence diagram's lost rows read the same pairing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.outcome.deliveries import (
    ACKED_EVENTS,
    Connection,
    Deliveries,
    Receipt,
    altered,
    answered,
    pair,
)
from harness.outcome.facts import Fact
from harness.outcome.findings import Violation
from harness.outcome.wording import sentence
from harness.sim.history import Message
from harness.text import short


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


def check_history(messages: Sequence[Message],
                  context: CheckContext | None = None) -> list[Violation]:
    """Every violation of delivery, isolation, after-disconnect and acks in ``messages``."""
    context = context or CheckContext()
    deliveries = pair(messages, context.end_seq)
    return [*_after_disconnect(messages, deliveries.connections), *_acks(messages),
            *_delivery(deliveries, context)]


def _after_disconnect(messages: Sequence[Message],
                      conns: list[Connection]) -> list[Violation]:
    out: list[Violation] = []
    for m in messages:
        if m.kind not in ("ide", "drone") or m.direction not in ("received", "acked"):
            continue
        if any(c.actor == m.actor and c.live_at(m.seq) and (
                m.socket_id is None or c.sid == m.socket_id) for c in conns):
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


def _acks(messages: Sequence[Message]) -> list[Violation]:
    answers = answered(messages)
    out: list[Violation] = []
    for m in messages:
        if m.kind in ("ide", "drone") and m.direction == "sent" and m.event in ACKED_EVENTS \
                and m.meta.get("ack", True) and m.seq not in answers:
            out.append(Violation("acks", f"{m.event} emitted by {m.kind} {m.actor} "
                                         f"(seq {m.seq}) got neither an ack nor an ack-timeout",
                                 m.actor, (m.seq,), "unanswered"))
    return out


def _delivery(deliveries: Deliveries, context: CheckContext) -> list[Violation]:
    out: list[Violation] = []
    for receipt in deliveries.receipts:
        m, source, who = receipt.message, receipt.send, receipt.receiver
        if source is None and receipt.keyed:
            first = receipt.keyed[0]
            field_name = altered(first.message.payload, m.payload)
            out.append(Violation("delivery", f"{who} received {first.label} with its "
                                 f"field {field_name} changed or missing: {short(m.payload)}",
                                 m.actor, (first.message.seq, m.seq), "altered"))
        elif source is None:
            out.append(Violation("delivery", f"{who} received {m.event} {short(m.payload)} "
                                 "that no drone sent", m.actor, (m.seq,), "phantom"))
        elif source.negative:
            out.append(Violation("isolation", f"{source.label}, emitted by drone "
                                 f"{source.message.actor} as a forbidden (negative) event, "
                                 f"reached {who}", m.actor, (source.message.seq, m.seq),
                                 "negative"))
        else:
            out += _scope(receipt, deliveries, context)
    for conn in deliveries.connections:
        if conn.kind == "ide":
            out += _per_ide(conn, deliveries.received_by(conn))
    for missed in deliveries.missed():
        send, ide = missed.send, missed.conn
        if ide is None or missed.excuse is not None:
            continue
        out.append(Violation("delivery", f"{send.label} (emitted by drone "
                             f"{send.message.actor} at seq {send.message.seq}) never "
                             f"reached {ide} on chat session {send.chat_session}",
                             ide.actor, (send.message.seq,), "missing"))
    return sorted(out, key=lambda v: v.seqs)


def _scope(receipt: Receipt, deliveries: Deliveries, context: CheckContext) -> list[Violation]:
    out: list[Violation] = []
    m, send, who = receipt.message, receipt.send, receipt.receiver
    assert send is not None
    chat = send.chat_session
    if not deliveries.on_chat(m, chat):
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


def _per_ide(conn: Connection, got: list[Receipt]) -> list[Violation]:
    """Duplicates and reorders among what ``conn`` received."""
    out: list[Violation] = []
    last: dict[str, int] = {}
    labels: dict[int, str] = {}
    seen: set[int] = set()
    for receipt in got:
        send = receipt.send
        if send is None or send.negative:
            continue
        m = receipt.message
        if send.index in seen:
            out.append(Violation("delivery", f"{send.label} reached {conn} more than once",
                                 conn.actor, (send.message.seq, m.seq), "duplicate"))
            continue
        previous = last.get(send.work_order)
        if previous is not None and previous > send.index:
            out.append(Violation("delivery", f"{send.label} reached {conn} after "
                                 f"{labels[previous]}, out of order", conn.actor,
                                 (send.message.seq, m.seq), "order"))
        seen.add(send.index)
        labels[send.index] = send.label
        last[send.work_order] = send.index
    return out


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
                holds = Fact("map-holds", map=name, key=str(key))
                out.append(Violation("leaks", f"{sentence(holds)} ({ours[str(key)]}) after "
                                     "every client disconnected", code="leak", facts=(holds,)))
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
