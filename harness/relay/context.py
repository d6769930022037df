"""What every relay handler shares: the server, the store, the registry, the settings.

Also the two ways the relay talks to connected clients on its own initiative: notifying
code sessions, and asking a drone something and waiting for its ack; and how an acked
handler's outcome becomes its ack (``guarded``), in the relay's ``Dialect``.

Events from the wrong side (a drone sending an IDE event, an IDE a drone event) and unknown
events are refused ``forbidden`` when they ask for an ack; with the ``wrong-side-ignored``
variant they get no ack at all (``unanswered``). Neither is ever acted on.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import engineio.packet
import socketio
import socketio.packet

from harness.protocol import ErrorCode, Event, error
from harness.relay.registry import CodeSession, DroneSession, SessionRegistry
from harness.relay.store import Store
from harness.relay.validation import Refused, Rules
from harness.relay.variants import Dialect
from harness.settings import RelaySettings, Variant

__all__ = ["NAMESPACE", "Answer", "Refused", "RelayContext", "WrongSide", "single_payload"]

logger = logging.getLogger(__name__)

NAMESPACE = "/"


class WrongSide(Refused):
    """An event from the wrong side of the protocol (or unknown): ``forbidden``, or no ack."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.FORBIDDEN, message)


class Answer(enum.Enum):
    """How a drone answered a relay -> drone event."""

    ACCEPTED = "accepted"  # acked true or {"ok": true}
    REJECTED = "rejected"  # acked anything else (false, {"ok": false}, nothing)
    TIMEOUT = "timeout"  # no ack within the timeout
    GONE = "gone"  # the socket disconnected (or was replaced) before acking


@dataclass
class RelayContext:
    """Shared state of one relay.

    ``registration_lock`` serialises a registration's connects and disconnects, and each
    lock write with its copy in the live drone session (``cache_lock``);
    ``lock_request_lock`` its lock requests (section 4: one at a time, each settled by the
    drone before the next reads the lock). ``pending_locks`` maps the registrations whose
    lock request is waiting for the drone's ack to the chat session asking.
    """

    sio: socketio.AsyncServer
    store: Store
    registry: SessionRegistry
    settings: RelaySettings
    pending_locks: dict[str, str] = field(default_factory=dict)
    first_forwards: dict[str, asyncio.Event] = field(default_factory=dict)
    """ack-after-stream: work order id -> set once its first event reached the IDEs."""
    _registration_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _lock_request_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _after_ack: set[asyncio.Task[None]] = field(default_factory=set)
    dialect: Dialect = field(init=False)
    """How this relay shapes and words what it sends."""
    rules: Rules = field(init=False)
    """Which allowed answers the payload checks give."""

    def __post_init__(self) -> None:
        self.dialect = Dialect.of(self.settings)
        self.rules = Rules(ids_first=self.settings.variant(Variant.ERROR_PRECEDENCE),
                           blank_prompt=self.settings.variant(Variant.BLANK_PROMPT_ACCEPTED))

    def variant(self, name: str) -> bool:
        """True when the relay runs with variant ``name``."""
        return self.settings.variant(name)

    def registration_lock(self, registration_id: str) -> asyncio.Lock:
        """The lock that orders connects and disconnects of one registration."""
        return self._registration_locks.setdefault(registration_id, asyncio.Lock())

    def lock_request_lock(self, registration_id: str) -> asyncio.Lock:
        """The lock that orders the ``requestSessionLock`` requests of one registration."""
        return self._lock_request_locks.setdefault(registration_id, asyncio.Lock())

    async def notify(self, sessions: Iterable[CodeSession], event: str,
                     payload: dict[str, Any]) -> None:
        """Emit ``event`` to each code session, one after another (keeps per-socket order).

        The packet is encoded once and queued on each socket's engine.io transport, as
        ``AsyncServer.emit`` does, but without the task it starts and awaits per recipient.
        """
        manager, eio = self.sio.manager, self.sio.eio
        packets: list[engineio.packet.Packet] | None = None
        for session in sessions:
            eio_sid = manager.eio_sid_from_sid(session.sid, NAMESPACE)
            if eio_sid is None:  # gone meanwhile: emit() would send nothing either
                continue
            if packets is None:
                encoded = self.sio.packet_class(socketio.packet.EVENT, namespace=NAMESPACE,
                                                data=[event, payload]).encode()
                packets = [engineio.packet.Packet(engineio.packet.MESSAGE, part) for part in
                           (encoded if isinstance(encoded, list) else [encoded])]
            for packet in packets:
                await eio.send_packet(eio_sid, packet)

    async def drone_status(self, user_id: str, registration_id: str, status: str) -> None:
        """``droneStatus {registrationId, status}`` to every code session of ``user_id``."""
        await self.notify(self.registry.code_sessions_by_user(user_id), Event.DRONE_STATUS,
                          {"registrationId": registration_id, "status": status})

    def cache_lock(self, registration_id: str, chat_session_id: str | None,
                   *, only_if: str | None = None) -> None:
        """Update the in-memory lock of the live drone session of ``registration_id``.

        With ``only_if``, change it only while it equals that chat session id.
        """
        drone = self.registry.drone_by_registration(registration_id)
        if drone is not None and (only_if is None or drone.locked_by == only_if):
            drone.locked_by = chat_session_id

    def after_ack(self, work: Awaitable[None]) -> None:
        """Run ``work`` after the ack of the event being handled has been sent.

        python-socketio queues a handler's ack in the same step in which the handler
        returns (``_handle_event_internal`` does not yield before ``Socket.send`` puts it in
        the socket's queue); a task created now runs its first step only later, so
        everything it sends to the same socket follows the ack.
        """

        async def run() -> None:
            try:
                await work
            except Exception:
                logger.exception("sending after an ack failed")

        task = asyncio.get_running_loop().create_task(run())
        self._after_ack.add(task)
        task.add_done_callback(self._after_ack.discard)

    def unanswered(self, message: str) -> Any:
        """The handler result for an event from the wrong side or an unknown event."""
        if self.variant(Variant.WRONG_SIDE_IGNORED):
            return self.sio.not_handled
        return self.dialect.ack(error(ErrorCode.FORBIDDEN, message))

    def guarded(self, event: str, handler: Handler) -> Handler:
        """Wrap an acked handler: its result and refusals become acks in the relay's dialect,
        crashes ``internal-error``; a ``WrongSide`` refusal is ``unanswered``."""

        async def wrapper(sid: str, *args: Any) -> Any:
            try:
                return self.dialect.ack(await handler(sid, single_payload(args)))
            except WrongSide as exc:
                logger.debug("%s from %s: wrong side", event, sid)
                return self.unanswered(exc.message)
            except Refused as exc:
                logger.debug("%s from %s: %s", event, sid, exc.code)
                return self.dialect.ack(error(exc.code, exc.message))
            except Exception:
                logger.exception("%s from %s failed", event, sid)
                return self.dialect.ack(
                    error(ErrorCode.INTERNAL, f"{event}: the relay failed; see its log"))

        wrapper.__name__ = f"on_{event}"
        return wrapper

    async def ask_drone(self, drone: DroneSession, event: str, payload: dict[str, Any],
                        timeout: float) -> Answer:
        """Emit ``event`` to ``drone`` and wait up to ``timeout`` s for its ack.

        Unlike ``AsyncServer.call`` this stops waiting as soon as the socket goes away.
        """
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[tuple[Any, ...]] = loop.create_future()

        def on_ack(*args: Any) -> None:
            if not acked.done():
                acked.set_result(args)

        await self.sio.emit(event, payload, to=drone.sid, callback=on_ack)
        gone: asyncio.Future[Any] = asyncio.ensure_future(drone.closed.wait())
        waiting: set[asyncio.Future[Any]] = {acked, gone}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if acked in done:
            return Answer.ACCEPTED if _accepts(acked.result()) else Answer.REJECTED
        acked.cancel()
        return Answer.GONE if drone.closed.is_set() else Answer.TIMEOUT


def _accepts(args: tuple[Any, ...]) -> bool:
    if len(args) != 1:
        return False
    value = args[0]
    return value is True or (isinstance(value, dict) and value.get("ok") is True)


Handler = Callable[..., Awaitable[Any]]


def single_payload(args: tuple[Any, ...]) -> Any:
    """The one payload of an event; several arguments are returned as a list (invalid)."""
    if len(args) == 1:
        return args[0]
    return list(args) if args else None
