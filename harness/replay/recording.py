"""A trace read for replay: its clients, who each one is, and what each did, in order.

A trace of ``harness record`` names one actor per Engine.IO session (``ide1``, ``drone2``)
and carries each client's redacted auth in its ``connect`` message; a trace of a harness
run names its actors and says who they are in its header. Either reads the same way here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from harness.errors import TraceError
from harness.protocol import ErrorCode
from harness.report.trace import Trace
from harness.sim.history import Message

__all__ = ["Client", "Recording", "read_recording", "refusal_code"]

SOCKET_KINDS: Final = ("ide", "drone")
REFUSALS: Final = (ErrorCode.AUTH_INVALID, ErrorCode.AUTH_UNKNOWN, ErrorCode.AUTH_DENIED)
_REFUSAL = re.compile("|".join(REFUSALS))


@dataclass
class Client:
    """One recorded client (an Engine.IO session, or a harness run's actor)."""

    name: str
    kind: str  # ide | drone | http
    identity: str | None  # "user:<token fingerprint or user id>" or "drone:<registration id>"
    transport: str = "websocket"
    upgraded: bool = False
    connects: int = 0
    refused: list[str] = field(default_factory=list)  # connect_error codes, in order
    first: float = 0.0
    last: float = 0.0
    registration_id: str | None = None

    @property
    def only_refused(self) -> bool:
        """Every connection attempt was refused (its credentials were never good)."""
        return bool(self.refused) and not self.connects


@dataclass(frozen=True)
class Recording:
    """The clients of a trace and their messages (harness notes left out), in order."""

    trace: Trace
    clients: dict[str, Client]
    messages: tuple[Message, ...]
    payloads: str  # how the recorder kept payloads: full, truncate or hash

    @property
    def duration(self) -> float:
        """Seconds from the first to the last message."""
        if not self.messages:
            return 0.0
        return self.messages[-1].t - self.messages[0].t


def refusal_code(message: Any) -> str | None:
    """The contract's refusal code (section 3) named in a ``connect_error`` message."""
    found = _REFUSAL.search(str(message))
    return found.group(0) if found else None


def identity_of(message: Message, header_actor: dict[str, Any] | None = None) -> str | None:
    """Who a ``connect``/``connect-error`` (or an HTTP call) says its client is:
    ``"drone:<registration id>"`` for a drone, ``"user:<token fingerprint>"`` otherwise (a
    harness run's trace: ``"user:<user id>"`` from its header)."""
    auth = message.meta.get("auth")
    info = header_actor or {}
    if message.kind == "drone":
        registration = auth.get("registrationId") if isinstance(auth, dict) else None
        registration = registration or info.get("registrationId")
        return f"drone:{registration}" if registration else None
    if isinstance(auth, dict) and "token" in auth:
        return f"user:{auth.get('token')}"
    if isinstance(auth, str):  # an HTTP call's Authorization, as a fingerprint
        return f"user:{auth}"
    user = info.get("userId")
    return f"user:{user}" if user else None


def read_recording(trace: Trace, source: str) -> Recording:
    """The clients of ``trace`` and their messages; raises ``TraceError`` when it holds no
    client's message (nothing to replay)."""
    recording = trace.header.get("recording") or {}
    header_actors: dict[str, Any] = trace.header.get("actors") or {}
    clients: dict[str, Client] = {}
    kept: list[Message] = []
    for message in trace.messages:
        if message.kind not in (*SOCKET_KINDS, "http"):
            continue
        info = header_actors.get(message.actor) or {}
        client = clients.get(message.actor)
        if client is None:
            client = clients[message.actor] = Client(
                message.actor, message.kind, identity_of(message, info), first=message.t)
        client.last = message.t
        if message.direction == "connect":
            client.connects += 1
            client.transport = str(message.meta.get("transport") or client.transport)
            client.identity = identity_of(message, info) or client.identity
        elif message.direction == "connect-error":
            client.refused.append(refusal_code(message.payload) or str(message.payload))
            client.identity = client.identity or identity_of(message, info)
        elif message.direction == "note" and message.event == "upgrade":
            client.upgraded = True
        kept.append(message)
    if not kept:
        raise TraceError(f"{source}: no client's message in "
                         f"this trace ({len(trace.messages)} line(s)): nothing to replay")
    for client in clients.values():
        if client.kind == "drone" and client.identity:
            client.registration_id = client.identity.removeprefix("drone:")
    return Recording(trace, clients, tuple(kept), str(recording.get("payloads") or "full"))
