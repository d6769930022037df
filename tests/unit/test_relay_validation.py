"""Payload validation of the reference relay: codes, the field named, and the check order."""

from __future__ import annotations

from typing import Any

import pytest

from harness.relay.validation import (
    CodeAuth,
    DroneAuth,
    PayloadError,
    parse_auth,
    parse_crash_recovery,
    parse_lock_request,
    parse_open_chat_session,
    parse_stream_event,
    parse_submit_prompt,
    parse_work_order_complete,
)

A = "a" * 24
B = "0123456789abcdefABCDEF01"


def _refusal(call: Any, *args: Any) -> PayloadError:
    with pytest.raises(PayloadError) as caught:
        call(*args)
    return caught.value


# -- auth ------------------------------------------------------------------------------------


def test_auth_accepts_code_and_drone_payloads() -> None:
    assert parse_auth({"type": "code", "token": "t"}) == CodeAuth("t")
    assert parse_auth({"type": "drone", "registrationId": B, "token": "t"}) == DroneAuth(B, "t")


@pytest.mark.parametrize(("auth", "named"), [
    (None, "type"),
    ("code", "type"),
    ({}, "type"),
    ({"type": "admin", "token": "t"}, "type"),
    ({"type": "code"}, "token"),
    ({"type": "code", "token": ""}, "token"),
    ({"type": "code", "token": 5}, "token"),
    ({"type": "drone", "token": "t"}, "registrationId"),
    ({"type": "drone", "registrationId": B}, "token"),
    ({"type": "drone", "registrationId": "xyz", "token": "t"}, "registrationId"),
    ({"type": "drone", "registrationId": 12, "token": "t"}, "registrationId"),
])
def test_bad_auth_is_auth_invalid_and_names_the_field(auth: Any, named: str) -> None:
    error = _refusal(parse_auth, auth)
    assert error.code == "auth-invalid"
    assert named in error.message


# -- IDE events ----------------------------------------------------------------------------


def test_valid_ide_payloads_parse() -> None:
    assert parse_open_chat_session({"chatSessionId": A}).chat_session_id == A
    lock = parse_lock_request("requestSessionLock", {"registrationId": B, "chatSessionId": A})
    assert (lock.registration_id, lock.chat_session_id) == (B, A)
    prompt = parse_submit_prompt({"registrationId": B, "chatSessionId": A, "prompt": "hi"})
    assert prompt.prompt == "hi"


@pytest.mark.parametrize("payload", [None, "x", 3, ["chatSessionId"], True])
def test_a_payload_that_is_not_an_object_is_invalid_payload(payload: Any) -> None:
    error = _refusal(parse_open_chat_session, payload)
    assert error.code == "invalid-payload"
    assert "openChatSession" in error.message and "object" in error.message


@pytest.mark.parametrize(("payload", "code", "named"), [
    ({}, "invalid-payload", "registrationId"),
    ({"registrationId": B}, "invalid-payload", "chatSessionId"),
    ({"chatSessionId": A}, "invalid-payload", "registrationId"),
    ({"registrationId": 1, "chatSessionId": A}, "invalid-payload", "registrationId"),
    ({"registrationId": "zz", "chatSessionId": A}, "invalid-id", "registrationId"),
    ({"registrationId": B, "chatSessionId": A + "0"}, "invalid-id", "chatSessionId"),
    # shape errors win over id errors, wherever they are
    ({"registrationId": "zz"}, "invalid-payload", "chatSessionId"),
])
def test_lock_request_errors(payload: dict[str, Any], code: str, named: str) -> None:
    error = _refusal(parse_lock_request, "releaseSessionLock", payload)
    assert (error.code, named in error.message) == (code, True)
    assert error.message.startswith("releaseSessionLock:")


@pytest.mark.parametrize(("prompt", "problem"), [
    (None, "string"), (7, "string"), ("", "empty"), ("   ", "empty"),
])
def test_submit_prompt_needs_a_non_blank_prompt(prompt: Any, problem: str) -> None:
    error = _refusal(parse_submit_prompt,
                     {"registrationId": B, "chatSessionId": A, "prompt": prompt})
    assert error.code == "invalid-payload"
    assert "'prompt'" in error.message and problem in error.message


def test_submit_prompt_without_prompt_is_invalid_payload() -> None:
    error = _refusal(parse_submit_prompt, {"registrationId": B, "chatSessionId": A})
    assert error.code == "invalid-payload" and "'prompt'" in error.message


# -- drone events ----------------------------------------------------------------------------


def _stream(**fields: Any) -> dict[str, Any]:
    return {"workOrderId": A, "chatSessionId": B, "seq": 0, **fields}


def test_valid_stream_events_parse_and_keep_the_payload() -> None:
    payload = _stream(text="hmm", extra=1)
    parsed = parse_stream_event("thinking", payload)
    assert (parsed.work_order_id, parsed.chat_session_id, parsed.seq) == (A, B, 0)
    assert parsed.payload == payload
    parse_stream_event("response", _stream(text=""))
    parse_stream_event("toolCall", _stream(toolCallId="t1", name="ls", arguments={"p": "."}))
    parse_stream_event("toolCall", _stream(toolCallId="t1", name="ls", arguments='{"p": "."}'))


@pytest.mark.parametrize(("event", "payload", "code", "named"), [
    ("thinking", _stream(), "invalid-payload", "text"),
    ("response", _stream(text=None), "invalid-payload", "text"),
    ("thinking", {"chatSessionId": B, "seq": 0, "text": ""}, "invalid-payload", "workOrderId"),
    ("thinking", _stream(seq=-1, text=""), "invalid-payload", "seq"),
    ("thinking", _stream(seq=True, text=""), "invalid-payload", "seq"),
    ("thinking", _stream(seq="0", text=""), "invalid-payload", "seq"),
    ("toolCall", _stream(name="ls", arguments={}), "invalid-payload", "toolCallId"),
    ("toolCall", _stream(toolCallId="t", name="ls", arguments=3), "invalid-payload", "arguments"),
    ("toolCall", _stream(toolCallId="t", name="ls"), "invalid-payload", "arguments"),
    ("response", _stream(workOrderId="nope", text=""), "invalid-id", "workOrderId"),
])
def test_stream_event_errors(event: str, payload: dict[str, Any], code: str,
                             named: str) -> None:
    error = _refusal(parse_stream_event, event, payload)
    assert error.code == code
    assert named in error.message and error.message.startswith(f"{event}:")


def test_work_order_complete_parses_with_optional_summary_and_seq() -> None:
    parsed = parse_work_order_complete({"workOrderId": A, "chatSessionId": B,
                                        "status": "complete", "summary": "done", "seq": 4})
    assert (parsed.status, parsed.payload["summary"]) == ("complete", "done")
    assert parse_work_order_complete(
        {"workOrderId": A, "chatSessionId": B, "status": "failed"}).status == "failed"


@pytest.mark.parametrize(("payload", "code", "named"), [
    ({"workOrderId": A, "chatSessionId": B}, "invalid-payload", "status"),
    ({"workOrderId": A, "chatSessionId": B, "status": "aborted"}, "invalid-payload", "status"),
    ({"workOrderId": A, "chatSessionId": B, "status": "complete", "summary": 1},
     "invalid-payload", "summary"),
    ({"workOrderId": A, "chatSessionId": B, "status": "complete", "seq": -2},
     "invalid-payload", "seq"),
    ({"workOrderId": A, "chatSessionId": "b", "status": "complete"}, "invalid-id",
     "chatSessionId"),
])
def test_work_order_complete_errors(payload: dict[str, Any], code: str, named: str) -> None:
    error = _refusal(parse_work_order_complete, payload)
    assert error.code == code and named in error.message


def test_crash_recovery_takes_nothing_or_an_object() -> None:
    parse_crash_recovery(None)
    parse_crash_recovery({})
    error = _refusal(parse_crash_recovery, "please")
    assert error.code == "invalid-payload" and "requestCrashRecovery" in error.message
