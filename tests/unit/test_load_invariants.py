"""The streaming invariant checker, fed hand-made message sequences with each kind of
violation, and its memory bound."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from harness.load.invariants import StreamChecker
from harness.sim.history import Message

WO, WO2 = "a" * 24, "b" * 24
CHAT, OTHER_CHAT, FOREIGN_CHAT = "c" * 24, "d" * 24, "e" * 24
REG, REG2 = "1" * 24, "2" * 24
_seq = itertools.count()


def message(actor: str, kind: Any, direction: Any, event: str, payload: Any,
            t: float = 0.0, **meta: Any) -> Message:
    return Message(next(_seq), t, actor, kind, direction, event, payload, meta=meta)


def body(seq: int, wo: str = WO, chat: str = CHAT, **extra: Any) -> dict[str, Any]:
    return {"workOrderId": wo, "chatSessionId": chat, "seq": seq, "text": "x", **extra}


def sent(seq: int, *, event: str = "thinking", t: float = 0.0, **kw: Any) -> Message:
    return message("drone-0", "drone", "sent", event, body(seq, **kw), t)


def got(seq: int, *, ide: str = "ide-0", event: str = "thinking", t: float = 0.0,
        reg: str = REG, **kw: Any) -> Message:
    return message(ide, "ide", "received", event, body(seq, registrationId=reg, **kw), t)


@pytest.fixture
def checker() -> StreamChecker:
    latencies: list[tuple[str, float]] = []
    c = StreamChecker(on_latency=lambda event, s: latencies.append((event, s)))
    c.latencies = latencies  # type: ignore[attr-defined]
    c.add_drone("drone-0", REG, "u1")
    c.chat_owner(CHAT, "u1")
    c.chat_owner(OTHER_CHAT, "u1")
    c.chat_owner(FOREIGN_CHAT, "u2")
    c.ide_opened("ide-0", "u1", CHAT)
    return c


def feed(checker: StreamChecker, *messages: Message) -> None:
    for m in messages:
        checker.observe(m)


def test_clean_stream_has_no_violation_and_measures_latency(checker: StreamChecker) -> None:
    feed(checker, sent(0, t=1.0), sent(1, t=1.1), got(0, t=1.5), got(1, t=1.3),
         sent(2, event="workOrderComplete", t=2.0),
         got(2, event="workOrderComplete", t=2.25))
    checker.finish()
    assert checker.violations == {}
    assert checker.latencies == [  # type: ignore[attr-defined]
        ("thinking", pytest.approx(0.5)), ("thinking", pytest.approx(0.2)),
        ("workOrderComplete", pytest.approx(0.25))]
    assert checker.open_streams == 0 and checker.in_flight == 0
    assert checker.delivered == {"thinking": 2, "workOrderComplete": 1}


def test_duplicate(checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), got(0), got(1), got(1))
    assert checker.violations == {"delivery/duplicate": 1}
    assert "ide-0 got thinking seq 1" in checker.samples[0]


def test_duplicate_after_the_work_order_finished(checker: StreamChecker) -> None:
    feed(checker, sent(0, event="workOrderComplete"), got(0, event="workOrderComplete"),
         got(0, event="workOrderComplete"))
    assert checker.violations == {"delivery/duplicate": 1}
    assert "after the work order finished" in checker.samples[0]


def test_gap_is_an_order_violation(checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), sent(2), got(0), got(2))
    assert checker.violations == {"delivery/order": 1}
    assert "expected seq 1 (missing 1)" in checker.samples[0]
    feed(checker, got(1))  # the late one is then a reorder, seen as a duplicate
    assert checker.violations["delivery/duplicate"] == 1


def test_undelivered_tail_is_missing_at_finish(checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), got(0))
    checker.finish()
    assert checker.violations == {"delivery/missing": 1}
    assert "never reached ide-0" in checker.samples[0]


def test_phantom(checker: StreamChecker) -> None:
    feed(checker, got(0, wo=WO2))
    assert checker.violations == {"delivery/phantom": 1}


def test_malformed_forwarded_event(checker: StreamChecker) -> None:
    feed(checker, message("ide-0", "ide", "received", "thinking", {"seq": "x"}))
    assert checker.violations == {"delivery/phantom": 1}


def test_wrong_registration(checker: StreamChecker) -> None:
    feed(checker, sent(0), got(0, reg=REG2))
    assert checker.violations == {"delivery/registration": 1}


def test_event_of_a_chat_session_not_opened(checker: StreamChecker) -> None:
    feed(checker, got(0, chat=OTHER_CHAT))
    assert checker.violations == {"isolation/scope": 1}


def test_an_ide_whose_open_is_not_acked_may_receive_but_is_owed_nothing(
        checker: StreamChecker) -> None:
    # The open's ack timed out, yet the relay indexed the IDE (an overloaded relay).
    checker.ide_opening("ide-1", "u1", CHAT)
    feed(checker, sent(0), sent(1), sent(2), got(0), got(1, ide="ide-1"), got(1),
         got(2, ide="ide-1"), got(2))
    checker.finish()
    assert checker.violations == {}
    feed(checker, sent(0, wo=WO2), sent(1, wo=WO2), got(0, wo=WO2), got(1, wo=WO2))
    checker.finish()  # ide-1 got none of WO2: it was owed none
    assert checker.violations == {}


def test_an_ide_whose_open_is_not_acked_is_still_held_to_order(
        checker: StreamChecker) -> None:
    checker.ide_opening("ide-1", "u1", CHAT)
    feed(checker, sent(0), sent(1), sent(2), got(1, ide="ide-1"), got(1, ide="ide-1"),
         got(0, ide="ide-1"))
    assert checker.violations == {"delivery/duplicate": 2}
    feed(checker, got(0, chat=OTHER_CHAT, ide="ide-1"))  # not the chat it is opening
    assert checker.violations["isolation/scope"] == 1


def test_event_of_another_users_chat_session(checker: StreamChecker) -> None:
    feed(checker, got(0, chat=FOREIGN_CHAT))
    assert checker.violations == {"isolation/other-user": 1}


def test_ide_that_left_gets_nothing_expected(checker: StreamChecker) -> None:
    checker.ide_left("ide-0")
    feed(checker, sent(0))
    checker.finish()
    assert checker.violations == {} and checker.in_flight == 0
    feed(checker, got(0))  # and receiving on a chat session it left is a scope violation
    assert checker.violations == {"isolation/scope": 1}


def test_abandoned_work_order_tail_is_not_missing(checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), got(0))
    checker.abandon(WO)
    feed(checker, sent(0, wo=WO2))  # the drone's next work order purges the abandoned one
    assert checker.lost_in_crash == 1
    feed(checker, got(0, wo=WO2))
    checker.finish()
    assert checker.violations == {}


def test_an_overdue_work_order_delivered_late_is_no_violation(checker: StreamChecker) -> None:
    """An overloaded relay delivers past the completion timeout: late, not lost (it was
    counted missing, and its late events duplicates 'after the work order finished')."""
    feed(checker, sent(0, t=1.0), sent(1, t=1.0), sent(2, event="workOrderComplete", t=1.0),
         got(0, t=1.1))
    checker.give_up(WO)
    feed(checker, sent(0, wo=WO2, t=40.0))  # the driver moved on to the next prompt
    feed(checker, got(1, t=45.0), got(2, event="workOrderComplete", t=45.0),
         got(0, wo=WO2, t=45.5))
    assert checker.violations == {}
    assert checker.open_streams == 1 and checker.in_flight == 0
    assert ("workOrderComplete", 44.0) in checker.latencies  # type: ignore[attr-defined]


def test_an_overdue_work_order_is_still_held_to_order(checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), sent(2), got(0))
    checker.give_up(WO)
    feed(checker, got(2), got(1))
    assert checker.violations == {"delivery/order": 1, "delivery/duplicate": 1}


def test_what_an_ide_is_owed_of_an_overdue_work_order_when_it_leaves_is_missing(
        checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), sent(2), got(0))
    checker.give_up(WO)
    assert checker.violations == {}
    checker.ide_left("ide-0")
    assert checker.violations == {"delivery/missing": 2}
    assert "2 event(s) of work order" in checker.samples[0]
    assert checker.lost_on_leave == 0 and checker.in_flight == 0


def test_what_an_overdue_work_order_sent_just_before_its_ide_left_is_not_missing() -> None:
    """A drone behind its pace on a saturated machine still streams an overdue work order
    when the run ends: what it sent within ``patience`` of the leaving was cut short by it,
    not lost (3 "missing" events in a 2,000-drone run); what it sent before is missing."""
    now = [100.0]
    checker = StreamChecker(patience=30.0, clock=lambda: now[0])
    checker.add_drone("drone-0", REG, "u1")
    checker.chat_owner(CHAT, "u1")
    checker.ide_opened("ide-0", "u1", CHAT)
    feed(checker, sent(0, t=10.0), sent(1, t=69.0), sent(2, t=71.0), sent(3, t=99.5))
    checker.give_up(WO)
    checker.ide_left("ide-0")
    assert checker.violations == {"delivery/missing": 2}  # seq 0 and 1: 90 s and 31 s
    assert "2 event(s) of work order" in checker.samples[0]
    assert checker.lost_on_leave == 2  # seq 2 and 3: sent 29 s and 0.5 s before
    assert checker.in_flight == 0


def test_an_overdue_work_order_still_owed_at_the_end_is_missing(
        checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), got(0))
    checker.give_up(WO)
    checker.finish()
    assert checker.violations == {"delivery/missing": 1}


def test_negative_sends_are_not_expected(checker: StreamChecker) -> None:
    checker.observe(message("drone-0", "drone", "sent", "thinking", body(0), negative=True))
    checker.finish()
    assert checker.violations == {}


def test_two_ides_on_one_chat_each_get_everything(checker: StreamChecker) -> None:
    checker.ide_opened("ide-1", "u1", CHAT)
    feed(checker, sent(0), got(0), got(0, ide="ide-1"), sent(1, event="workOrderComplete"),
         got(1, event="workOrderComplete"))
    assert checker.open_streams == 1  # ide-1 has not had the completion yet
    feed(checker, got(1, ide="ide-1", event="workOrderComplete"))
    checker.finish()
    assert checker.violations == {} and checker.open_streams == 0


def test_memory_is_bounded_by_open_streams_not_events(checker: StreamChecker) -> None:
    for n in range(3000):
        wo = f"{n:024x}"
        for seq in range(10):
            feed(checker, sent(seq, wo=wo), got(seq, wo=wo))
        feed(checker, sent(10, wo=wo, event="workOrderComplete"),
             got(10, wo=wo, event="workOrderComplete"))
        assert checker.open_streams == 0 and checker.in_flight == 0
    assert sum(checker.delivered.values()) == 33_000
    assert len(checker._recent) <= 4096
    assert checker.violations == {}


def test_ide_leaving_mid_stream_is_no_violation(checker: StreamChecker) -> None:
    feed(checker, sent(0), sent(1), sent(2), got(0))
    checker.ide_left("ide-0")
    assert checker.lost_on_leave == 2 and checker.in_flight == 0
    feed(checker, sent(3))  # nobody is on the chat session now: nothing expected
    checker.finish()
    assert checker.violations == {}
