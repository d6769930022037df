"""The invariant checker, fed hand-made histories that keep or break each invariant."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from harness.scenario.invariants import (
    CheckContext,
    Violation,
    check_history,
    check_leaks,
    check_secrets,
)
from harness.sim.history import ActorKind, MessageHistory

WO = "a" * 24
WO2 = "b" * 24
CHAT = "c" * 24
CHAT2 = "d" * 24
REG = "e" * 24


class Story:
    """A compact way to write a history: one method per thing that happens."""

    def __init__(self) -> None:
        clock = itertools.count()
        self.history = MessageHistory(clock=lambda: float(next(clock)))

    def connect(self, actor: str, sid: str, kind: ActorKind = "ide") -> None:
        self.history.record(actor, kind, "connect", "connect", socket_id=sid)

    def disconnect(self, actor: str, sid: str, kind: ActorKind = "ide",
                   reason: str = "client") -> None:
        self.history.record(actor, kind, "disconnect", "disconnect", socket_id=sid,
                            reason=reason)

    def open(self, ide: str, sid: str, chat: str = CHAT, ok: bool = True) -> None:
        sent = self.history.record(ide, "ide", "sent", "openChatSession",
                                   {"chatSessionId": chat}, socket_id=sid)
        answer = {"ok": True} if ok else {"ok": False, "error": "forbidden", "message": "no"}
        self.history.record(ide, "ide", "ack", "openChatSession", ack=answer, socket_id=sid,
                            sent_seq=sent.seq)

    def emit(self, drone: str, sid: str, seq: int, event: str = "thinking", wo: str = WO,
             chat: str = CHAT, negative: bool = False,
             optional: bool = False) -> dict[str, Any]:
        payload = {"workOrderId": wo, "chatSessionId": chat, "seq": seq,
                   "text": f"wo={wo} seq={seq}"}
        meta = {"negative": True} if negative else {"optional": True} if optional else {}
        self.history.record(drone, "drone", "sent", event, payload, socket_id=sid, **meta)
        return payload

    def receive(self, ide: str, sid: str, payload: dict[str, Any], event: str = "thinking",
                registration: str = REG) -> None:
        self.history.record(ide, "ide", "received", event,
                            {**payload, "registrationId": registration}, socket_id=sid)

    def check(self, **context: Any) -> list[Violation]:
        ctx = CheckContext(actor_registrations={"d0": REG}, **context)
        return check_history(self.history.messages, ctx)


def base() -> Story:
    story = Story()
    story.connect("d0", "D1", "drone")
    story.connect("ide", "I1")
    story.open("ide", "I1")
    return story


def only(violations: list[Violation], invariant: str) -> str:
    assert [v.invariant for v in violations] == [invariant], violations
    return violations[0].message


def test_a_clean_work_order_breaks_nothing() -> None:
    story = base()
    for seq in range(3):
        story.receive("ide", "I1", story.emit("d0", "D1", seq))
    story.disconnect("ide", "I1")
    story.disconnect("d0", "D1", "drone")
    assert story.check(end_seq=len(story.history) - 2) == []


def test_a_missing_event_names_event_work_order_ide_and_chat_session() -> None:
    story = base()
    first = story.emit("d0", "D1", 0)
    story.emit("d0", "D1", 1)
    story.receive("ide", "I1", first)
    message = only(story.check(), "delivery")
    assert message == (f"thinking seq 1 of work order {WO} (emitted by drone d0 at seq 5) "
                       f"never reached ide ide (I1) on chat session {CHAT}")


def test_a_duplicate_is_a_delivery_violation() -> None:
    story = base()
    payload = story.emit("d0", "D1", 0)
    story.receive("ide", "I1", payload)
    story.receive("ide", "I1", payload)
    assert "more than once" in only(story.check(), "delivery")


def test_events_out_of_order_are_a_delivery_violation() -> None:
    story = base()
    first, second = story.emit("d0", "D1", 0), story.emit("d0", "D1", 1)
    story.receive("ide", "I1", second)
    story.receive("ide", "I1", first)
    message = only(story.check(), "delivery")
    assert message.startswith(f"thinking seq 0 of work order {WO} reached ide ide (I1) after "
                              f"thinking seq 1")
    assert message.endswith("out of order")


def test_an_event_no_drone_sent_is_a_delivery_violation() -> None:
    story = base()
    story.receive("ide", "I1", {"workOrderId": WO, "chatSessionId": CHAT, "seq": 9})
    assert "that no drone sent" in only(story.check(), "delivery")


def test_a_wrong_registration_id_is_a_delivery_violation() -> None:
    story = base()
    story.receive("ide", "I1", story.emit("d0", "D1", 0), registration="f" * 24)
    assert f"but drone d0's is {REG}" in only(story.check(), "delivery")


def test_an_event_for_another_chat_session_is_an_isolation_violation() -> None:
    story = base()
    story.connect("ide2", "I2")
    story.open("ide2", "I2", CHAT2)
    payload = story.emit("d0", "D1", 0)
    story.receive("ide", "I1", payload)
    story.receive("ide2", "I2", payload)
    message = only(story.check(), "isolation")
    assert message == (f"thinking seq 0 of work order {WO} for chat session {CHAT} reached "
                       "ide ide2 (I2), which is not on that chat session")


def test_an_event_reaching_another_user_is_an_isolation_violation() -> None:
    story = base()
    story.receive("ide", "I1", story.emit("d0", "D1", 0))
    violations = story.check(chat_session_owner={CHAT: "u1"}, actor_users={"ide": "u2"})
    assert "of another user (u2)" in only(violations, "isolation")


def test_a_refused_open_does_not_put_an_ide_on_the_chat_session() -> None:
    story = Story()
    story.connect("d0", "D1", "drone")
    story.connect("ide", "I1")
    story.open("ide", "I1", ok=False)
    story.receive("ide", "I1", story.emit("d0", "D1", 0))
    # received although not on it, and nothing was required of it
    assert [v.invariant for v in story.check()] == ["isolation"]


def test_a_negative_event_must_reach_nobody() -> None:
    story = base()
    story.receive("ide", "I1", story.emit("d0", "D1", 0, negative=True))
    assert "as a forbidden (negative) event" in only(story.check(), "isolation")


def test_an_optional_event_may_reach_its_chat_session_or_nobody_but_no_one_else() -> None:
    dropped = base()
    dropped.emit("d0", "D1", 0, optional=True)
    assert dropped.check() == []
    forwarded = base()
    forwarded.receive("ide", "I1", forwarded.emit("d0", "D1", 0, optional=True))
    assert forwarded.check() == []
    twice = base()
    payload = twice.emit("d0", "D1", 0, optional=True)
    twice.receive("ide", "I1", payload)
    twice.receive("ide", "I1", payload)
    assert "more than once" in only(twice.check(), "delivery")
    elsewhere = base()
    elsewhere.connect("other", "I2")
    elsewhere.open("other", "I2", chat=CHAT2)
    elsewhere.receive("other", "I2", elsewhere.emit("d0", "D1", 0, optional=True))
    assert "which is not on that chat session" in only(elsewhere.check(), "isolation")


def test_a_negative_event_that_reached_nobody_is_fine() -> None:
    story = base()
    story.emit("d0", "D1", 0, negative=True)
    assert story.check() == []


def test_an_event_after_a_disconnect_is_an_after_disconnect_violation() -> None:
    story = base()
    story.disconnect("ide", "I1", reason="server")
    story.history.record("ide", "ide", "received", "droneStatus", {}, socket_id="I1")
    message = only(story.check(), "after-disconnect")
    assert message == "droneStatus reached ide ide (I1) after its disconnect (seq 4, server)"


def test_an_unanswered_emit_is_an_acks_violation_but_a_timeout_is_not() -> None:
    story = base()
    story.history.record("ide", "ide", "sent", "requestSessionLock", {}, socket_id="I1")
    assert "got neither an ack nor an ack-timeout" in only(story.check(), "acks")
    story.history.record("ide", "ide", "ack-timeout", "requestSessionLock", socket_id="I1",
                         sent_seq=3)
    assert story.check() == []


def test_a_crashed_drone_owes_only_an_in_order_prefix() -> None:
    story = base()
    payloads = [story.emit("d0", "D1", seq) for seq in range(4)]
    story.disconnect("d0", "D1", "drone", reason="crash")
    story.receive("ide", "I1", payloads[0])
    story.receive("ide", "I1", payloads[1])
    assert story.check() == []


def test_a_crashed_drone_may_not_leave_a_hole() -> None:
    story = base()
    payloads = [story.emit("d0", "D1", seq) for seq in range(3)]
    story.disconnect("d0", "D1", "drone", reason="crash")
    story.receive("ide", "I1", payloads[0])
    story.receive("ide", "I1", payloads[2])
    assert "thinking seq 1" in only(story.check(), "delivery")


def test_a_drone_that_says_goodbye_owes_an_in_order_prefix_without_holes() -> None:
    # socket.io's server (Node) dispatches each event on the next tick and ignores one whose
    # socket disconnected meanwhile: the events read together with the DISCONNECT are lost
    # by any relay built on it. The tail may go; a hole may not; a server-side end excuses
    # nothing.
    story = base()
    payloads = [story.emit("d0", "D1", seq) for seq in range(4)]
    story.receive("ide", "I1", payloads[0])
    story.receive("ide", "I1", payloads[1])
    story.disconnect("d0", "D1", "drone", reason="client")
    assert story.check() == []
    holed = base()
    payloads = [holed.emit("d0", "D1", seq) for seq in range(3)]
    holed.receive("ide", "I1", payloads[0])
    holed.receive("ide", "I1", payloads[2])
    holed.disconnect("d0", "D1", "drone", reason="client")
    assert "thinking seq 1" in only(holed.check(), "delivery")
    replaced = base()
    payloads = [replaced.emit("d0", "D1", seq) for seq in range(2)]
    replaced.receive("ide", "I1", payloads[0])
    replaced.disconnect("d0", "D1", "drone", reason="server")
    assert "thinking seq 1" in only(replaced.check(), "delivery")


def test_an_ide_that_leaves_midway_owes_a_contiguous_run() -> None:
    story = base()
    payloads = [story.emit("d0", "D1", seq) for seq in range(4)]
    story.receive("ide", "I1", payloads[0])
    story.receive("ide", "I1", payloads[1])
    story.disconnect("ide", "I1")
    end = len(story.history)
    assert story.check(end_seq=end) == []
    story2 = base()
    payloads = [story2.emit("d0", "D1", seq) for seq in range(3)]
    story2.receive("ide", "I1", payloads[0])
    story2.receive("ide", "I1", payloads[2])
    story2.disconnect("ide", "I1")
    assert "thinking seq 1" in only(story2.check(end_seq=len(story2.history)), "delivery")


def test_a_teardown_disconnect_does_not_excuse_a_missing_event() -> None:
    story = base()
    first = story.emit("d0", "D1", 0)
    story.emit("d0", "D1", 1)
    story.receive("ide", "I1", first)
    end = len(story.history)
    story.disconnect("ide", "I1")
    assert "thinking seq 1" in only(story.check(end_seq=end), "delivery")


def test_events_before_the_open_was_acked_are_not_required() -> None:
    story = Story()
    story.connect("d0", "D1", "drone")
    story.connect("ide", "I1")
    story.emit("d0", "D1", 0)
    story.open("ide", "I1")
    story.receive("ide", "I1", story.emit("d0", "D1", 1))
    assert story.check() == []


def test_each_ide_on_the_chat_session_is_owed_every_event() -> None:
    story = base()
    story.connect("ide2", "I2")
    story.open("ide2", "I2")
    payload = story.emit("d0", "D1", 0, event="workOrderComplete")
    story.receive("ide", "I1", payload, event="workOrderComplete")
    assert "never reached ide ide2 (I2)" in only(story.check(), "delivery")


def test_work_orders_are_ordered_independently() -> None:
    story = base()
    a0, b0 = story.emit("d0", "D1", 0, wo=WO), story.emit("d0", "D1", 0, wo=WO2)
    story.receive("ide", "I1", b0)
    story.receive("ide", "I1", a0)
    assert story.check() == []


@pytest.mark.parametrize("map_name", ["sessions", "dronesByRegistration"])
def test_leaks_name_the_map_the_key_and_its_owner(map_name: str) -> None:
    snapshot = {"ok": True, "maps": {map_name: {"size": 2, "keys": ["D1", "stranger"]}}}
    violations = check_leaks(snapshot, {"D1": "socket of drone d0"})
    assert [str(v) for v in violations] == [
        f"[leaks] the relay's {map_name} map still holds D1 (socket of drone d0) after "
        "every client disconnected"]


def test_no_leak_when_the_maps_hold_only_strangers() -> None:
    snapshot = {"maps": {"sessions": {"size": 1, "keys": ["someone-else"]}}}
    assert check_leaks(snapshot, {"D1": "socket of drone d0"}) == []


def test_a_token_in_a_log_is_named_by_whose_it_is_never_shown() -> None:
    token = "tok_" + "x" * 40
    secrets = {token: "the API token of user u1", "other-token-value": "drone d0's token"}
    logs = {"relay": f"INFO started\nDEBUG auth {{'token': '{token}'}}\nINFO {token} again\n",
            "mongo": "nothing here\n"}
    (violation,) = check_secrets(logs, secrets)
    assert violation.invariant == "secrets"
    assert violation.message == "the relay log shows the API token of user u1 in clear (line 2)"
    assert token not in str(violation)
    assert check_secrets({"relay": "INFO all quiet\n"}, secrets) == []


def test_forwarded_events_may_carry_extra_fields_but_keep_the_drones() -> None:
    extra = base()
    payload = extra.emit("d0", "D1", 0)
    extra.receive("ide", "I1", {**payload, "relayedAt": "2025-01-01T00:00:00Z"})
    assert extra.check() == []
    changed = base()
    payload = changed.emit("d0", "D1", 0)
    changed.receive("ide", "I1", {**payload, "text": "rewritten"})
    codes = sorted(v.code for v in changed.check())
    assert codes == ["altered", "missing"]  # the changed event does not count as delivered
    assert any("with its field text changed or missing" in v.message for v in changed.check())
    dropped = base()
    payload = dropped.emit("d0", "D1", 0)
    dropped.receive("ide", "I1", {k: v for k, v in payload.items() if k != "text"})
    assert any("field text changed or missing" in v.message for v in dropped.check())


def test_a_received_event_pairs_with_the_fullest_sent_payload_it_carries() -> None:
    story = base()
    story.history.record("d0", "drone", "sent", "thinking",
                         {"workOrderId": WO, "chatSessionId": CHAT, "seq": 0},
                         socket_id="D1", negative=True)
    payload = story.emit("d0", "D1", 0)
    story.receive("ide", "I1", {**payload, "relayedAt": "x"})
    assert story.check() == []
