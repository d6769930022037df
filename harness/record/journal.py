"""The recording's journal: names actors, numbers messages, redacts and writes them.

Every message goes through ``Journal.record``, which redacts (``Redactor``) and shapes
(``Shaper``) its payload, ack and meta before anything else sees it, then writes it as one
trace line (``harness.report.trace.message_json``) and flushes, so a recorder killed midway
leaves a readable prefix. ``header`` builds the trace's header line (docs/record.md);
``rewrite_header`` swaps in the final one atomically on a clean stop.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from harness.record.redact import Redactor, Shaper, binary_json
from harness.report.trace import SCHEMA, SCHEMA_VERSION, ActorInfo, message_json
from harness.sim.history import ActorKind, Direction, Message

__all__ = ["ROLES", "Journal", "RecordingInfo", "rewrite_header"]

ROLES: Mapping[str, tuple[ActorKind, str]] = {"code": ("ide", "ide"), "drone": ("drone", "drone")}
"""Socket.IO auth ``type`` -> (actor kind, name prefix); any other type is ``client<n>``."""
HTTP_ACTOR = "http"
RECORDER_ACTOR = "recorder"


@dataclass(frozen=True)
class RecordingInfo:
    """What the header says of the recording (credentials already masked in ``upstream``)."""

    upstream: str
    listen: str
    payloads: str
    max_chars: int
    socketio_path: str


def _jsonable(data: Any) -> Any:
    if isinstance(data, bytes | bytearray):
        return binary_json(bytes(data))
    if isinstance(data, Mapping):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    return data


class Journal:
    """Actors and messages of one recording, written to ``out`` (or kept in no file)."""

    def __init__(self, out: TextIO | None, *, redactor: Redactor | None = None,
                 shaper: Shaper | None = None, clock: Callable[[], float] = time.monotonic,
                 on_message: Callable[[Message], None] | None = None) -> None:
        self.redactor = redactor or Redactor()
        self.shaper = shaper or Shaper()
        self._out = out
        self._clock = clock
        self._on_message = on_message
        self.started = clock()
        self.started_at = datetime.now(UTC)
        self.run_id = f"rec-{self.started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.count = 0
        self.actors: dict[str, ActorInfo] = {}
        self._numbers: Counter[str] = Counter()
        self.messages: list[Message] | None = None if out is not None else []

    def name_actor(self, auth: Any) -> tuple[str, ActorKind]:
        """A new actor for a Socket.IO client whose CONNECT carried ``auth``."""
        role = auth.get("type") if isinstance(auth, Mapping) else None
        kind, prefix = ROLES.get(str(role), ("ide", "client"))
        self._numbers[prefix] += 1
        name = f"{prefix}{self._numbers[prefix]}"
        registration = auth.get("registrationId") if kind == "drone" and isinstance(
            auth, Mapping) else None
        registration = registration if isinstance(registration, str) else None
        label = f"{kind} {name}" + (f" ({registration})" if registration else "")
        self.actors[name] = ActorInfo(name, kind, label, registration_id=registration)
        return name, kind

    def record(self, actor: str, kind: ActorKind, direction: Direction, event: str,
               payload: Any = None, *, ack: Any = None, socket_id: str | None = None,
               **meta: Any) -> Message:
        """Redact, shape, number and write one message; returns it as written."""
        if kind == "http" and actor not in self.actors:
            self.actors[actor] = ActorInfo(actor, "http", f"http {actor}")
        redact, shape = self.redactor.value, self.shaper
        message = Message(self.count, round(self._clock() - self.started, 6), actor, kind,
                          direction, event, shape(redact(_jsonable(payload))),
                          shape(redact(_jsonable(ack))), socket_id,
                          redact(_jsonable(meta)))
        self.count += 1
        if self._out is not None:
            line = json.dumps(message_json(message, 0.0), default=str, ensure_ascii=False)
            self._out.write(line + "\n")
            self._out.flush()
        if self.messages is not None:
            self.messages.append(message)
        if self._on_message is not None:
            self._on_message(message)
        return message

    def roles(self) -> dict[str, int]:
        """How many clients of each name prefix (``ide``, ``drone``, ``client``) connected."""
        return dict(self._numbers)

    def header(self, info: RecordingInfo, *, final: bool = False) -> dict[str, Any]:
        """The trace's header line: the first one (``final=False``) or the last word."""
        return {
            "type": "header", "schema": SCHEMA, "version": SCHEMA_VERSION,
            "scenario": "recording", "name": f"recording of {info.upstream}",
            "source": "harness record",
            "run": {"id": self.run_id, "title": "harness record"},
            "status": "recorded",
            "duration": round(self._clock() - self.started, 6) if final else 0,
            "failure": None, "steps": [],
            "actors": {n: a.to_json() for n, a in self.actors.items()} if final else {},
            "messages": self.count if final else 0,
            "recording": {"upstream": info.upstream, "listen": info.listen,
                          "started": self.started_at.isoformat().replace("+00:00", "Z"),
                          "payloads": info.payloads, "max_chars": info.max_chars,
                          "socketio_path": info.socketio_path},
        }


def rewrite_header(path: Path, header: Mapping[str, Any]) -> None:
    """Replace line 1 of the trace at ``path`` by ``header``, atomically (temp + rename)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with path.open("r", encoding="utf-8") as old, temp.open("w", encoding="utf-8") as new:
        old.readline()
        new.write(json.dumps(header, ensure_ascii=False) + "\n")
        for line in old:
            if line.endswith("\n"):  # a torn last line (killed mid-write) is left out
                new.write(line)
    os.replace(temp, path)
