"""Payload validation for every event the relay receives. Pure functions, no I/O.

Each ``parse_*`` function returns a typed view of a payload or raises ``PayloadError``
with the protocol error code and a message naming the field: ``invalid-payload`` when
the payload is not an object or a field is missing or mistyped, ``invalid-id`` when an id
field is a string but not 24 hex digits. Shape errors are reported before id errors, so
``{"registrationId": "x"}`` without ``chatSessionId`` is ``invalid-payload``.

``Rules`` picks the other answers that the contract allows (section 11): with ``ids_first``
(the ``error-precedence`` variant) every id field present is checked first and an id that
is not a string (``42``, ``null``, a list) is ``invalid-id`` rather than ``invalid-payload``;
with ``blank_prompt`` (``blank-prompt-accepted``) a blank prompt is accepted.

Text the relay stores or hashes must be encodable as UTF-8 (``is_text``): JSON can carry a
lone surrogate (``"\\ud800"``), which neither BSON nor sha256-of-UTF-8 accepts. A prompt
that is not is ``invalid-payload``; a token that is not matches nobody (``auth.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from harness.protocol import (
    WORK_ORDER_FINAL_STATUSES,
    ClientType,
    ErrorCode,
    Event,
    is_object_id,
)

__all__ = [
    "CodeAuth",
    "DroneAuth",
    "LockRequest",
    "OpenChatSession",
    "PayloadError",
    "Rules",
    "StreamEvent",
    "SubmitPrompt",
    "WorkOrderComplete",
    "is_text",
    "parse_auth",
    "parse_crash_recovery",
    "parse_lock_request",
    "parse_open_chat_session",
    "parse_stream_event",
    "parse_submit_prompt",
    "parse_work_order_complete",
]


class Refused(Exception):
    """A request the relay turns down; ``code`` is the protocol error code.

    Becomes ``{"ok": false, "error": code, "message": message}`` (or a connect error).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PayloadError(Refused):
    """A malformed payload: ``invalid-payload`` or ``invalid-id``."""


@dataclass(frozen=True)
class Rules:
    """Which allowed answer the checks give where the contract leaves a choice."""

    ids_first: bool = False
    blank_prompt: bool = False


REFERENCE: Final = Rules()


@dataclass(frozen=True)
class CodeAuth:
    token: str


@dataclass(frozen=True)
class DroneAuth:
    registration_id: str
    token: str


@dataclass(frozen=True)
class OpenChatSession:
    chat_session_id: str


@dataclass(frozen=True)
class LockRequest:
    """``requestSessionLock`` and ``releaseSessionLock``."""

    registration_id: str
    chat_session_id: str


@dataclass(frozen=True)
class SubmitPrompt:
    registration_id: str
    chat_session_id: str
    prompt: str


@dataclass(frozen=True)
class StreamEvent:
    """``thinking``, ``response`` or ``toolCall``; ``payload`` is the payload as received."""

    work_order_id: str
    chat_session_id: str
    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class WorkOrderComplete:
    work_order_id: str
    chat_session_id: str
    status: str
    payload: dict[str, Any]


# -- field kinds: each returns an error description, or None when the value fits -------------

Check = Callable[[Any], str | None]


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _non_empty_string(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    return None if value.strip() else "must not be empty"


def is_text(value: str) -> bool:
    """True when ``value`` encodes as UTF-8: no lone surrogate, so BSON can store it and
    a token can be hashed."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(check: Check) -> Check:
    """``check``, then: the string must be UTF-8-encodable text (``is_text``)."""

    def storable(value: Any) -> str | None:
        if problem := check(value):
            return problem
        if is_text(value):
            return None
        return "must be valid Unicode text (a lone surrogate cannot be stored)"

    return storable


_PROMPT: Final = _storable(_non_empty_string)
_BLANK_PROMPT: Final = _storable(_string)


def _seq(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    return None if value >= 0 else "must be >= 0"


def _json_value(value: Any) -> str | None:
    return None if isinstance(value, dict | str) else "must be an object or a JSON string"


def _optional_string(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "must be a string or null"


def _final_status(value: Any) -> str | None:
    if value in WORK_ORDER_FINAL_STATUSES:
        return None
    return f"must be one of {', '.join(WORK_ORDER_FINAL_STATUSES)}"


def ID(value: Any) -> str | None:  # noqa: N802 - reads as a field kind
    """An id field: a string here; its 24-hex shape is checked after every other field."""
    return _string(value)


def _check(event: str, data: Any, fields: Mapping[str, Check],
           optional: Mapping[str, Check] | None = None,
           rules: Rules = REFERENCE) -> dict[str, Any]:
    """Validate ``data`` for ``event``: required ``fields`` first, then optional, then ids
    (``rules.ids_first``: the ids present first, then the rest)."""
    if not isinstance(data, dict):
        raise PayloadError(ErrorCode.INVALID_PAYLOAD,
                           f"{event}: payload must be an object, got {_type_name(data)}")
    if rules.ids_first:
        for name, kind in fields.items():
            if kind is ID and name in data and not is_object_id(data[name]):
                raise PayloadError(ErrorCode.INVALID_ID,
                                   f"{event}: field {name!r} must be a string of 24 hex "
                                   "digits")
    for name, kind in fields.items():
        if name not in data:
            raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"{event}: missing field {name!r}")
        if problem := kind(data[name]):
            raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"{event}: field {name!r} {problem}")
    for name, check in (optional or {}).items():
        if name in data and (problem := check(data[name])):
            raise PayloadError(ErrorCode.INVALID_PAYLOAD, f"{event}: field {name!r} {problem}")
    for name, kind in fields.items():
        if kind is ID and not is_object_id(data[name]):
            raise PayloadError(ErrorCode.INVALID_ID,
                               f"{event}: field {name!r} must be 24 hex digits")
    return data


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


# -- connect -----------------------------------------------------------------------------------


def parse_auth(data: Any) -> CodeAuth | DroneAuth:
    """The Socket.IO ``auth`` payload; raises ``PayloadError`` with ``auth-invalid``.

    A drone's ``registrationId`` that is not 24 hex digits is ``auth-invalid`` too.
    """
    try:
        if not isinstance(data, dict) or data.get("type") not in (ClientType.CODE,
                                                                  ClientType.DRONE):
            raise PayloadError(ErrorCode.AUTH_INVALID,
                               'auth: expected {"type": "code" | "drone", ...}')
        if data["type"] == ClientType.CODE:
            fields = _check("auth", data, {"token": _non_empty_string})
            return CodeAuth(fields["token"])
        fields = _check("auth", data, {"registrationId": ID, "token": _non_empty_string})
        return DroneAuth(fields["registrationId"], fields["token"])
    except PayloadError as exc:
        raise PayloadError(ErrorCode.AUTH_INVALID, exc.message) from None


# -- IDE -> relay ----------------------------------------------------------------------------


def parse_open_chat_session(data: Any, rules: Rules = REFERENCE) -> OpenChatSession:
    """``openChatSession {chatSessionId}``."""
    fields = _check(Event.OPEN_CHAT_SESSION, data, {"chatSessionId": ID}, rules=rules)
    return OpenChatSession(fields["chatSessionId"])


def parse_lock_request(event: str, data: Any, rules: Rules = REFERENCE) -> LockRequest:
    """``requestSessionLock`` / ``releaseSessionLock {registrationId, chatSessionId}``."""
    fields = _check(event, data, {"registrationId": ID, "chatSessionId": ID}, rules=rules)
    return LockRequest(fields["registrationId"], fields["chatSessionId"])


def parse_submit_prompt(data: Any, rules: Rules = REFERENCE) -> SubmitPrompt:
    """``submitPrompt {registrationId, chatSessionId, prompt}``; the prompt must not be blank
    (unless ``rules.blank_prompt``)."""
    prompt = _BLANK_PROMPT if rules.blank_prompt else _PROMPT
    fields = _check(Event.SUBMIT_PROMPT, data,
                    {"registrationId": ID, "chatSessionId": ID, "prompt": prompt}, rules=rules)
    return SubmitPrompt(fields["registrationId"], fields["chatSessionId"], fields["prompt"])


# -- drone -> relay --------------------------------------------------------------------------

_STREAM_BASE: Final[dict[str, Check]] = {"workOrderId": ID, "chatSessionId": ID, "seq": _seq}
_STREAM_FIELDS: Final[dict[str, dict[str, Check]]] = {
    Event.THINKING: {**_STREAM_BASE, "text": _string},
    Event.RESPONSE: {**_STREAM_BASE, "text": _string},
    Event.TOOL_CALL: {**_STREAM_BASE, "toolCallId": _string, "name": _string,
                      "arguments": _json_value},
}


def parse_stream_event(event: str, data: Any, rules: Rules = REFERENCE) -> StreamEvent:
    """``thinking``/``response`` ``{workOrderId, chatSessionId, seq, text}`` and
    ``toolCall {..., toolCallId, name, arguments}`` (arguments: object or JSON string)."""
    fields = _check(event, data, _STREAM_FIELDS[event], rules=rules)
    return StreamEvent(fields["workOrderId"], fields["chatSessionId"], fields["seq"], fields)


def parse_work_order_complete(data: Any, rules: Rules = REFERENCE) -> WorkOrderComplete:
    """``workOrderComplete {workOrderId, chatSessionId, status, summary?, seq?}``."""
    fields = _check(Event.WORK_ORDER_COMPLETE, data,
                    {"workOrderId": ID, "chatSessionId": ID, "status": _final_status},
                    optional={"summary": _optional_string, "seq": _seq}, rules=rules)
    return WorkOrderComplete(fields["workOrderId"], fields["chatSessionId"], fields["status"],
                             fields)


def parse_crash_recovery(data: Any) -> None:
    """``requestCrashRecovery`` takes no payload; an object (ignored) or nothing is fine."""
    if data is not None and not isinstance(data, dict):
        raise PayloadError(
            ErrorCode.INVALID_PAYLOAD,
            f"{Event.REQUEST_CRASH_RECOVERY}: payload must be an object or absent, "
            f"got {_type_name(data)}",
        )
