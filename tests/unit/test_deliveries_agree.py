"""One pairing of drone sends with IDE receipts: the latency report's lost sends, the sequence
diagram's lost rows and the delivery invariant's "missing" name the same sends."""

from __future__ import annotations

import itertools
from typing import Any

from _report_results import make_result

from harness.outcome.deliveries import pair
from harness.report.latency import latency_stats, match_deliveries
from harness.report.sequence import diagram_of_result
from harness.scenario.invariants import check_history
from harness.sim.history import ActorKind, Message, MessageHistory

WO, WO2 = "a" * 24, "b" * 24
CHAT, CHAT2, LONELY = "c" * 24, "d" * 24, "e" * 24


class _History:
    def __init__(self) -> None:
        clock = itertools.count()
        self.history = MessageHistory(clock=lambda: float(next(clock)) / 100)

    def connect(self, actor: str, kind: ActorKind = "ide") -> None:
        self.history.record(actor, kind, "connect", "connect", socket_id=f"sid-{actor}")

    def open(self, ide: str, chat: str) -> None:
        sent = self.history.record(ide, "ide", "sent", "openChatSession",
                                   {"chatSessionId": chat}, socket_id=f"sid-{ide}")
        self.history.record(ide, "ide", "ack", "openChatSession", ack={"ok": True},
                            socket_id=f"sid-{ide}", sent_seq=sent.seq)

    def emit(self, drone: str, seq: int, wo: str = WO, chat: str = CHAT) -> dict[str, Any]:
        payload = {"workOrderId": wo, "chatSessionId": chat, "seq": seq, "text": f"{seq}"}
        self.history.record(drone, "drone", "sent", "thinking", payload, socket_id=f"sid-{drone}")
        return payload

    def receive(self, ide: str, payload: dict[str, Any]) -> None:
        self.history.record(ide, "ide", "received", "thinking",
                            {**payload, "registrationId": "f" * 24}, socket_id=f"sid-{ide}")

    @property
    def messages(self) -> list[Message]:
        return list(self.history)


def _story() -> _History:
    """Two IDEs on CHAT, one on CHAT2; a drone streams for CHAT, another for LONELY."""
    h = _History()
    for actor in ("laptop", "desktop", "other"):
        h.connect(actor)
    h.connect("d0", "drone")
    h.connect("d1", "drone")
    h.open("laptop", CHAT)
    h.open("desktop", CHAT)
    h.open("other", CHAT2)
    first = h.emit("d0", 0)
    h.receive("laptop", first)
    h.receive("desktop", first)
    second = h.emit("d0", 1)
    h.receive("laptop", second)  # desktop never gets seq 1
    h.emit("d0", 2)  # nobody gets seq 2
    h.emit("d1", 0, wo=WO2, chat=LONELY)  # no IDE is on LONELY: owed to nobody
    return h


def test_lost_sends_diagram_rows_and_missing_violations_name_the_same_sends() -> None:
    messages = _story().messages

    _, lost = match_deliveries(messages)
    missing = [v for v in check_history(messages) if v.code == "missing"]
    rows = [r for r in diagram_of_result(make_result(messages)).rows if r.kind == "lost"]

    sent_seqs = {m.seq: m.payload["seq"] for m in messages if m.direction == "sent"
                 and m.kind == "drone"}
    assert [sent_seqs[m.seq] for m in lost] == [1, 2]
    assert sorted({v.seqs[0] for v in missing}) == [m.seq for m in lost]
    assert sorted((v.actor, sent_seqs[v.seqs[0]]) for v in missing) == [
        ("desktop", 1), ("desktop", 2), ("laptop", 2)]
    assert [r.why for r in rows] == ["thinking seq 1 never reached desktop",
                                     "thinking seq 2 never reached desktop, laptop"]
    (stats,) = latency_stats([messages])
    assert (stats.count, stats.undelivered) == (3, 2)


def test_a_send_to_a_chat_session_nobody_opened_is_neither_lost_nor_missing() -> None:
    h = _History()
    h.connect("laptop")
    h.connect("d1", "drone")
    h.open("laptop", CHAT)
    h.emit("d1", 0, wo=WO2, chat=LONELY)

    _, lost = match_deliveries(h.messages)

    assert lost == []
    assert [v for v in check_history(h.messages) if v.code == "missing"] == []
    assert [r for r in diagram_of_result(make_result(h.messages)).rows
            if r.kind == "lost"] == []


def test_the_pairing_is_fifo_per_receiver_and_names_the_alteration() -> None:
    h = _History()
    h.connect("laptop")
    h.open("laptop", CHAT)
    payload = h.emit("d0", 0)
    h.emit("d0", 0)  # the same event again
    h.receive("laptop", payload)
    h.receive("laptop", payload)
    h.receive("laptop", {**payload, "text": "changed"})

    deliveries = pair(h.messages)

    sends = [r.send.index if r.send else None for r in deliveries.receipts]
    assert sends == [0, 1, None]
    assert [s.index for s in deliveries.receipts[2].keyed] == [0, 1]
