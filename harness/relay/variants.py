"""How the relay words and shapes what it sends, and which allowed answer it gives (``--variant``).

The contract leaves some answers free (v1.1 section 11, and sections 4 and 10); the reference
relay gives one of each, and each ``--variant NAME`` switches it to the other, so the pack can
be shown to accept both. ``Dialect`` applies the variants that change *what is sent*; those
that change *what the relay does* act where it does it:

    error-precedence              validation.py (``Rules.ids_first``), ide_handlers.py
    extra-fields                  here: acks, errors, protocolError, forwarded events, HTTP
                                  bodies, the recovery ``workOrder``, introspection
    underscore-ids                here: the recovery ``workOrder``, the HTTP ``registration``
    z-timestamps                  here: ``timestamp``
    string-dates                  store.py writes ``Dialect.stored_now()``
    ack-after-stream              ide_handlers.py
    recovered-null                drone_handlers.py
    wrong-side-ignored            context.py (``guarded``, ``unanswered``), app.py,
                                  drone_handlers.py, lifecycle.py
    unknown-work-order-forwarded  drone_handlers.py
    unknown-work-order-refused    drone_handlers.py
    blank-prompt-accepted         validation.py (``Rules.blank_prompt``)
    other-messages                here: ``message``, ``connect_refusal``
    lock-pending-refused          ide_handlers.py
    partial-introspection         here: ``introspection``

With no variant every method returns the reference answer. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from harness.relay.store import WorkOrderDoc
from harness.settings import RelaySettings, Variant
from harness.text import plain

__all__ = ["EXTRA_FIELD", "MESSAGE_PREFIX", "Dialect"]

EXTRA_FIELD: Final = "relay"  # extra-fields: the field added to acks, errors and bodies
EXTRA_VALUE: Final = "gadget-harness"
FORWARDED_EXTRA: Final = "relayedAt"  # extra-fields: when the relay forwarded an event
MESSAGE_PREFIX: Final = "gadget-relay: "  # other-messages
PENDING_LOCKS_MAP: Final = "pendingLocks"  # extra-fields: an introspection map of our own
PARTIAL_MAP: Final = "codeSessionsByChatSession"  # partial-introspection leaves it out
_HASH_FIELDS: Final = ("tokenHash", "apiTokenHash")
_MAP_KINDS: Final = {"sessions": "primary", PENDING_LOCKS_MAP: "pending"}


@dataclass(frozen=True)
class Dialect:
    """The relay's outgoing shapes and texts under a set of variants (pure)."""

    variants: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: RelaySettings) -> Dialect:
        """The dialect of a relay with ``settings``."""
        return cls(settings.variants)

    def on(self, name: str) -> bool:
        """True when variant ``name`` is on."""
        return name in self.variants

    # -- texts -------------------------------------------------------------------------------

    def message(self, text: str) -> str:
        """A human ``message`` of an error ack, HTTP error or ``protocolError``."""
        return MESSAGE_PREFIX + text if self.on(Variant.OTHER_MESSAGES) else text

    def connect_refusal(self, code: str, text: str) -> tuple[str, dict[str, Any]]:
        """The ``connect_error`` message and data of a refused connection.

        Reference: the message is the code itself, the data ``{"error", "message"}``.
        """
        if self.on(Variant.OTHER_MESSAGES):
            return f"connection refused ({code}): {text}", {"reason": code}
        return code, {"error": code, "message": text}

    # -- envelopes ---------------------------------------------------------------------------

    def ack(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        """An ack (ok or error) or an HTTP JSON body, as sent."""
        out = dict(answer)
        if out.get("ok") is False and isinstance(out.get("message"), str):
            out["message"] = self.message(out["message"])
        if self.on(Variant.EXTRA_FIELDS):
            out[EXTRA_FIELD] = EXTRA_VALUE
        return out

    def protocol_error(self, event: str, code: str, text: str) -> dict[str, Any]:
        """``protocolError {event, error, message}`` to a drone."""
        out: dict[str, Any] = {"event": event, "error": code, "message": self.message(text)}
        if self.on(Variant.EXTRA_FIELDS):
            out[EXTRA_FIELD] = EXTRA_VALUE
        return out

    def forwarded(self, payload: Mapping[str, Any], registration_id: str) -> dict[str, Any]:
        """A drone's stream event or ``workOrderComplete`` as forwarded to the IDEs."""
        out = {**payload, "registrationId": registration_id}
        if self.on(Variant.EXTRA_FIELDS):
            out[FORWARDED_EXTRA] = self.timestamp(datetime.now(UTC))
        return out

    # -- objects -----------------------------------------------------------------------------

    def _with_id(self, out: dict[str, Any], object_id: str) -> dict[str, Any]:
        if self.on(Variant.UNDERSCORE_IDS):
            return {"_id": object_id, **out}
        return {"id": object_id, **out}

    def work_order(self, work_order: WorkOrderDoc, registration_id: str) -> dict[str, Any]:
        """The ``workOrder`` of a ``requestCrashRecovery`` ack."""
        out: dict[str, Any] = {"chatSessionId": work_order.chat_session_id,
                               "prompt": work_order.prompt, "status": work_order.status}
        if self.on(Variant.EXTRA_FIELDS):
            out["registrationId"] = registration_id
        return self._with_id(out, work_order.id)

    def registration(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A registration document as HTTP JSON: ids hex, datetimes RFC 3339, no hashes.

        Reference: the id under both ``_id`` and ``id``.
        """
        out: dict[str, Any] = {key: plain(value, self.timestamp)
                               for key, value in doc.items() if key not in _HASH_FIELDS}
        if "_id" in out and not self.on(Variant.UNDERSCORE_IDS):
            out["id"] = out["_id"]
        return out

    def introspection(self, maps: Mapping[str, dict[str, Any]],
                      pending_locks: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The ``maps`` of the introspection answer (section 10)."""
        out = {name: dict(value) for name, value in maps.items()}
        if self.on(Variant.PARTIAL_INTROSPECTION):
            out.pop(PARTIAL_MAP, None)
        if self.on(Variant.EXTRA_FIELDS):
            keys = sorted(pending_locks)
            out[PENDING_LOCKS_MAP] = {"size": len(keys), "keys": keys}
            for name, value in out.items():
                value["kind"] = _MAP_KINDS.get(name, "index")
        return out

    # -- time --------------------------------------------------------------------------------

    def timestamp(self, moment: datetime) -> str:
        """A datetime as RFC 3339: ``+00:00`` (reference) or ``Z`` with milliseconds."""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if self.on(Variant.Z_TIMESTAMPS):
            text = aware.astimezone(UTC).isoformat(timespec="milliseconds")
            return text.replace("+00:00", "Z")
        return aware.isoformat()

    def stored_now(self) -> datetime | str:
        """Now, as the relay writes it to the database: a BSON date, or (string-dates) the
        RFC 3339 text of ``timestamp``."""
        now = datetime.now(UTC)
        return self.timestamp(now) if self.on(Variant.STRING_DATES) else now
