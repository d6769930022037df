"""The relay's ``Dialect`` and ``Rules``: pure, per variant, and the reference without any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from bson import ObjectId

from harness.relay.store import WorkOrderDoc
from harness.relay.validation import (
    PayloadError,
    Rules,
    parse_lock_request,
    parse_open_chat_session,
    parse_stream_event,
    parse_submit_prompt,
)
from harness.relay.variants import Dialect

REFERENCE = Dialect()
MOMENT = datetime(2025, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)
HEX = "a" * 24


def on(*names: str) -> Dialect:
    return Dialect(frozenset(names))


def test_the_reference_sends_what_it_always_sent() -> None:
    assert REFERENCE.ack({"ok": True}) == {"ok": True}
    assert REFERENCE.ack({"ok": False, "error": "x", "message": "m"}) == {
        "ok": False, "error": "x", "message": "m"}
    assert REFERENCE.protocol_error("thinking", "not-locked", "m") == {
        "event": "thinking", "error": "not-locked", "message": "m"}
    assert REFERENCE.forwarded({"seq": 0}, HEX) == {"seq": 0, "registrationId": HEX}
    assert REFERENCE.connect_refusal("auth-denied", "m") == (
        "auth-denied", {"error": "auth-denied", "message": "m"})
    assert REFERENCE.timestamp(MOMENT) == "2025-01-01T10:00:00.123456+00:00"
    assert REFERENCE.stored_now().tzinfo is UTC  # type: ignore[union-attr]


def test_timestamps() -> None:
    z = on("z-timestamps")
    assert z.timestamp(MOMENT) == "2025-01-01T10:00:00.123Z"
    plus_two = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert z.timestamp(plus_two) == "2025-01-01T10:00:00.123Z"
    naive = MOMENT.replace(tzinfo=None)
    assert REFERENCE.timestamp(naive) == "2025-01-01T10:00:00.123456+00:00"
    assert isinstance(on("string-dates").stored_now(), str)
    assert str(on("string-dates", "z-timestamps").stored_now()).endswith("Z")


def test_registration_json() -> None:
    doc: dict[str, Any] = {"_id": ObjectId(HEX), "user": ObjectId("b" * 24),
                           "tokenHash": "h", "apiTokenHash": "h", "lastSeenAt": MOMENT,
                           "status": "online", "lockedBy": None}
    reference = REFERENCE.registration(doc)
    assert reference == {"_id": HEX, "id": HEX, "user": "b" * 24, "status": "online",
                         "lockedBy": None, "lastSeenAt": "2025-01-01T10:00:00.123456+00:00"}
    underscore = on("underscore-ids", "z-timestamps").registration(doc)
    assert "id" not in underscore and underscore["_id"] == HEX
    assert underscore["lastSeenAt"] == "2025-01-01T10:00:00.123Z"


def test_work_order() -> None:
    work_order = WorkOrderDoc(HEX, "c" * 24, "p", "running")
    assert REFERENCE.work_order(work_order, "d" * 24) == {
        "id": HEX, "chatSessionId": "c" * 24, "prompt": "p", "status": "running"}
    assert on("underscore-ids", "extra-fields").work_order(work_order, "d" * 24) == {
        "_id": HEX, "chatSessionId": "c" * 24, "prompt": "p", "status": "running",
        "registrationId": "d" * 24}


def test_extra_fields_and_other_messages() -> None:
    both = on("extra-fields", "other-messages")
    assert both.ack({"ok": True}) == {"ok": True, "relay": "gadget-harness"}
    assert both.ack({"ok": False, "error": "x", "message": "m"}) == {
        "ok": False, "error": "x", "message": "gadget-relay: m", "relay": "gadget-harness"}
    assert both.protocol_error("e", "c", "m")["message"] == "gadget-relay: m"
    assert "relayedAt" in both.forwarded({}, HEX)
    message, data = both.connect_refusal("auth-denied", "wrong token")
    assert "auth-denied" in message and message != "auth-denied"
    assert data == {"reason": "auth-denied"}


def test_introspection() -> None:
    maps = {name: {"size": 0, "keys": []} for name in (
        "sessions", "dronesByRegistration", "codeSessionsByUser", "codeSessionsByChatSession")}
    assert REFERENCE.introspection(maps, {HEX}) == maps
    partial = on("partial-introspection").introspection(maps, ())
    assert set(partial) == set(maps) - {"codeSessionsByChatSession"}
    extra = on("extra-fields").introspection(maps, {HEX})
    assert extra["pendingLocks"] == {"size": 1, "keys": [HEX], "kind": "pending"}
    assert extra["sessions"]["kind"] == "primary"
    assert maps["sessions"] == {"size": 0, "keys": []}  # the input is left alone


# -- Rules -------------------------------------------------------------------------------------


def _code(parse: Any, *args: Any) -> str:
    with pytest.raises(PayloadError) as caught:
        parse(*args)
    return caught.value.code


@pytest.mark.parametrize("not_a_string", [42, None, ["a"], {"a": 1}])
def test_a_non_string_id(not_a_string: Any) -> None:
    payload = {"registrationId": not_a_string, "chatSessionId": HEX}
    assert _code(parse_lock_request, "requestSessionLock", payload) == "invalid-payload"
    assert _code(parse_lock_request, "requestSessionLock", payload,
                 Rules(ids_first=True)) == "invalid-id"
    assert _code(parse_open_chat_session, {"chatSessionId": not_a_string},
                 Rules(ids_first=True)) == "invalid-id"


def test_ids_first() -> None:
    missing_and_bad = {"registrationId": "bad"}
    assert _code(parse_lock_request, "e", missing_and_bad) == "invalid-payload"
    assert _code(parse_lock_request, "e", missing_and_bad, Rules(ids_first=True)) == "invalid-id"
    stream = {"workOrderId": "zz", "chatSessionId": HEX, "seq": "x"}
    assert _code(parse_stream_event, "thinking", stream) == "invalid-payload"
    assert _code(parse_stream_event, "thinking", stream, Rules(ids_first=True)) == "invalid-id"
    # a missing id field is still a shape problem
    assert _code(parse_lock_request, "e", {"chatSessionId": HEX},
                 Rules(ids_first=True)) == "invalid-payload"


def test_blank_prompt() -> None:
    payload = {"registrationId": HEX, "chatSessionId": HEX, "prompt": "  "}
    assert _code(parse_submit_prompt, payload) == "invalid-payload"
    assert parse_submit_prompt(payload, Rules(blank_prompt=True)).prompt == "  "
    assert _code(parse_submit_prompt, {**payload, "prompt": 3},
                 Rules(blank_prompt=True)) == "invalid-payload"
