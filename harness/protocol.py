"""Facts of the Gadget relay protocol v1.1, stated once.

Event names, error codes, statuses, collection names and payload shapes that the
reference relay, the simulated clients, the seed and the scenario engine share.
The contract itself is ``docs/socket-protocol.md``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

PROTOCOL_VERSION: Final = "1.1"
DEFAULT_DATABASE: Final = "gadget"
SOCKETIO_PATH: Final = "/socket.io"
API_PREFIX: Final = "/api/v1"
ADMIN_TOKEN_HEADER: Final = "X-Admin-Token"

OBJECT_ID_PATTERN: Final = re.compile(r"^[0-9a-fA-F]{24}$")


def is_object_id(value: object) -> bool:
    """True when ``value`` is a 24-hex-digit string, the wire form of an ObjectId."""
    return isinstance(value, str) and OBJECT_ID_PATTERN.fullmatch(value) is not None


class ClientType:
    """Values of ``auth.type`` in the Socket.IO connect payload."""

    CODE: Final = "code"
    DRONE: Final = "drone"


class Event:
    """Socket.IO event names."""

    # IDE -> relay (acked)
    OPEN_CHAT_SESSION: Final = "openChatSession"
    REQUEST_SESSION_LOCK: Final = "requestSessionLock"
    RELEASE_SESSION_LOCK: Final = "releaseSessionLock"
    SUBMIT_PROMPT: Final = "submitPrompt"
    # drone -> relay
    THINKING: Final = "thinking"
    RESPONSE: Final = "response"
    TOOL_CALL: Final = "toolCall"
    WORK_ORDER_COMPLETE: Final = "workOrderComplete"
    REQUEST_CRASH_RECOVERY: Final = "requestCrashRecovery"
    # relay -> drone (acked)
    REQUEST_TERMINATION: Final = "requestTermination"
    # relay -> IDE
    DRONE_STATUS: Final = "droneStatus"
    DRONE_RECOVERED: Final = "droneRecovered"
    # relay -> drone
    PROTOCOL_ERROR: Final = "protocolError"


IDE_EVENTS: Final = (
    Event.OPEN_CHAT_SESSION,
    Event.REQUEST_SESSION_LOCK,
    Event.RELEASE_SESSION_LOCK,
    Event.SUBMIT_PROMPT,
)
STREAM_EVENTS: Final = (Event.THINKING, Event.RESPONSE, Event.TOOL_CALL)
FORWARDED_DRONE_EVENTS: Final = (*STREAM_EVENTS, Event.WORK_ORDER_COMPLETE)
DRONE_EVENTS: Final = (*FORWARDED_DRONE_EVENTS, Event.REQUEST_CRASH_RECOVERY)


class ErrorCode:
    """Kebab-case error codes carried in acks, HTTP bodies and connect errors."""

    INVALID_PAYLOAD: Final = "invalid-payload"
    INVALID_ID: Final = "invalid-id"
    AUTH_INVALID: Final = "auth-invalid"
    AUTH_UNKNOWN: Final = "auth-unknown"
    AUTH_DENIED: Final = "auth-denied"
    FORBIDDEN: Final = "forbidden"
    NOT_FOUND: Final = "not-found"
    NOT_LOCKED: Final = "not-locked"
    DRONE_OFFLINE: Final = "drone-offline"
    DRONE_LOCKED: Final = "drone-locked"
    DRONE_TIMEOUT: Final = "drone-timeout"
    DRONE_REJECTED: Final = "drone-rejected"
    DRONE_DISCONNECTED: Final = "drone-disconnected"
    TERMINATION_REJECTED: Final = "termination-rejected"
    TERMINATION_TIMEOUT: Final = "termination-timeout"
    UNAUTHORIZED: Final = "unauthorized"
    INTERNAL: Final = "internal-error"


AUTH_ERRORS: Final = (ErrorCode.AUTH_INVALID, ErrorCode.AUTH_UNKNOWN, ErrorCode.AUTH_DENIED)


class DroneStatus:
    """Values of ``droneRegistrations.status``."""

    OFFLINE: Final = "offline"
    ONLINE: Final = "online"
    BUSY: Final = "busy"


class WorkOrderStatus:
    """Values of ``workOrders.status``."""

    PENDING: Final = "pending"
    RUNNING: Final = "running"
    COMPLETE: Final = "complete"
    FAILED: Final = "failed"
    ABORTED: Final = "aborted"


WORK_ORDER_FINAL_STATUSES: Final = (WorkOrderStatus.COMPLETE, WorkOrderStatus.FAILED)
PROVIDER_KINDS: Final = ("openai", "anthropic", "ollama")


class Collection:
    """MongoDB collection names."""

    USERS: Final = "users"
    AI_PROVIDERS: Final = "aiProviders"
    PROJECTS: Final = "projects"
    CHAT_SESSIONS: Final = "chatSessions"
    DRONE_REGISTRATIONS: Final = "droneRegistrations"
    WORK_ORDERS: Final = "workOrders"


ALL_COLLECTIONS: Final = (
    Collection.USERS,
    Collection.AI_PROVIDERS,
    Collection.PROJECTS,
    Collection.CHAT_SESSIONS,
    Collection.DRONE_REGISTRATIONS,
    Collection.WORK_ORDERS,
)
SEED_RUN_FIELD: Final = "seedRunId"


class Route:
    """HTTP routes of the relay."""

    HEALTHZ: Final = "/healthz"
    REGISTRATION: Final = API_PREFIX + "/drone/registration/{id}"
    TERMINATE: Final = API_PREFIX + "/drone/registration/{id}/terminate"
    DEBUG_SESSIONS: Final = API_PREFIX + "/debug/sessions"


TERMINATE_PATH: Final = re.compile(r"/drone/registration/([0-9a-fA-F]{24})/terminate\b")
"""Finds ``Route.TERMINATE`` in a path or a request line; group 1 is the registration id."""


class SessionMap:
    """The four maps of the introspection answer (contract sections 3 and 10)."""

    SESSIONS: Final = "sessions"  # by socket id
    DRONES_BY_REGISTRATION: Final = "dronesByRegistration"
    CODE_SESSIONS_BY_USER: Final = "codeSessionsByUser"
    CODE_SESSIONS_BY_CHAT_SESSION: Final = "codeSessionsByChatSession"


SESSION_MAPS: Final = (
    SessionMap.SESSIONS,
    SessionMap.DRONES_BY_REGISTRATION,
    SessionMap.CODE_SESSIONS_BY_USER,
    SessionMap.CODE_SESSIONS_BY_CHAT_SESSION,
)


class Defaults:
    """Protocol default timings, in seconds."""

    DRONE_ACK_TIMEOUT: Final = 5.0
    TERMINATION_ACK_TIMEOUT: Final = 5.0
    TERMINATION_POLL_TIMEOUT: Final = 10.0
    TERMINATION_POLL_INTERVAL: Final = 0.1


def token_hash(token: str) -> str:
    """The stored form of a token (``apiTokenHash``, ``tokenHash``): hex sha256 of its UTF-8."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ok(**fields: object) -> dict[str, object]:
    """A successful ack: ``{"ok": true, ...}``."""
    return {"ok": True, **fields}


def error(code: str, message: str) -> dict[str, object]:
    """A failed ack or HTTP body: ``{"ok": false, "error": code, "message": message}``."""
    return {"ok": False, "error": code, "message": message}
