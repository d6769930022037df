"""Drone -> relay events (section 5): the stream, ``workOrderComplete``, crash recovery.

FIFO by construction: every handler here does nothing before its first ``await`` but put a
job into the drone session's ``Inbox``, and one worker per session runs those jobs one at a
time. python-socketio starts each event's task in arrival order (engine.io decodes one
socket's packets in order and ``asyncio`` runs new tasks' first steps in creation order), so
the jobs enter the inbox in arrival order; the worker then forwards each one completely
before it starts the next. Stream events never touch the database: the lock they are checked
against is the copy cached on the ``DroneSession`` (set on connect, lock, release, recovery,
each under the registration lock with its database read or write, so that a drone connecting
meanwhile never caches a lock older than the one written), and so are the work orders the
relay knows for it (``DroneSession.work_orders``).

Variants (``harness.relay.variants``): ``unknown-work-order-refused`` answers a stream event
of a work order the relay did not create for this drone and chat session with
``protocolError not-found`` instead of forwarding it; ``unknown-work-order-forwarded``
forwards a ``workOrderComplete`` of a work order that does not exist (recording nothing)
instead of refusing it; ``recovered-null`` sends ``droneRecovered {chatSessionId: null}``
when recovery finds no lock; ``wrong-side-ignored`` leaves an IDE's drone events unacked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from harness.protocol import STREAM_EVENTS, ErrorCode, Event, ok
from harness.relay.context import RelayContext, WrongSide, single_payload
from harness.relay.registry import DroneSession
from harness.relay.validation import (
    PayloadError,
    Refused,
    parse_crash_recovery,
    parse_stream_event,
    parse_work_order_complete,
)
from harness.settings import Variant

__all__ = ["DroneHandlers"]

logger = logging.getLogger(__name__)

CRASH_RECOVERY_TIMEOUT = 10.0  # the inbox may hold a backlog; the database answers in ms


class DroneHandlers:
    """Stream forwarding, work order completion and ``requestCrashRecovery``."""

    def __init__(self, ctx: RelayContext) -> None:
        self._ctx = ctx

    def register(self) -> None:
        """Install the handlers on the server."""
        sio = self._ctx.sio
        for event in (*STREAM_EVENTS, Event.WORK_ORDER_COMPLETE):
            sio.on(event, self._receiver(event))
        sio.on(Event.REQUEST_CRASH_RECOVERY,
               self._ctx.guarded(Event.REQUEST_CRASH_RECOVERY, self.request_crash_recovery))

    def _drone(self, sid: str, event: str) -> DroneSession | None:
        session = self._ctx.registry.session(sid)
        if isinstance(session, DroneSession) and session.inbox is not None:
            return session
        logger.debug("dropped %s from %s: not a drone socket", event, sid)
        return None

    def _receiver(self, event: str) -> Callable[..., Awaitable[Any]]:
        async def receive(sid: str, *args: Any) -> Any:
            # No await before the put: see the module docstring.
            drone = self._drone(sid, event)
            if drone is None or drone.inbox is None:
                return self._ctx.unanswered(f"{event}: only a drone socket may send it")
            data = single_payload(args)

            async def job() -> None:
                await self._forward(drone, event, data)

            drone.inbox.put(job)
            return None

        receive.__name__ = f"on_{event}"
        return receive

    async def _protocol_error(self, drone: DroneSession, event: str, code: str,
                              message: str) -> None:
        logger.debug("protocolError to %s on %s: %s", drone.sid, event, code)
        await self._ctx.sio.emit(Event.PROTOCOL_ERROR,
                                 self._ctx.dialect.protocol_error(event, code, message),
                                 to=drone.sid)

    async def _forward(self, drone: DroneSession, event: str, data: Any) -> None:
        ctx = self._ctx
        try:
            if event == Event.WORK_ORDER_COMPLETE:
                parsed_complete = parse_work_order_complete(data, ctx.rules)
                work_order_id = parsed_complete.work_order_id
                chat_id, payload = parsed_complete.chat_session_id, parsed_complete.payload
            else:
                parsed = parse_stream_event(event, data, ctx.rules)
                work_order_id = parsed.work_order_id
                chat_id, payload = parsed.chat_session_id, parsed.payload
        except PayloadError as exc:
            await self._protocol_error(drone, event, exc.code, exc.message)
            return
        if drone.locked_by != chat_id:
            await self._protocol_error(
                drone, event, ErrorCode.NOT_LOCKED,
                f"{event}: drone {drone.registration_id} is not locked by chat session "
                f"{chat_id}")
            return
        unknown = (f"{event}: no work order {work_order_id} of this drone and chat session")
        if event == Event.WORK_ORDER_COMPLETE:
            recorded = await ctx.store.complete_work_order(
                work_order_id, drone.registration_id, chat_id, parsed_complete.status)
            if not recorded and not await self._forward_unknown(work_order_id):
                await self._protocol_error(drone, event, ErrorCode.NOT_FOUND, unknown)
                return
        elif (ctx.variant(Variant.UNKNOWN_WORK_ORDER_REFUSED)
              and drone.work_orders.get(work_order_id) != chat_id):
            await self._protocol_error(drone, event, ErrorCode.NOT_FOUND, unknown)
            return
        targets = ctx.registry.code_sessions_by_chat_session(chat_id)
        await ctx.notify(targets, event, ctx.dialect.forwarded(payload, drone.registration_id))
        if (first := ctx.first_forwards.get(work_order_id)) is not None:
            first.set()

    async def _forward_unknown(self, work_order_id: str) -> bool:
        """unknown-work-order-forwarded: forward the completion of a work order that does
        not exist at all (one of another drone or chat session is still refused)."""
        if not self._ctx.variant(Variant.UNKNOWN_WORK_ORDER_FORWARDED):
            return False
        return not await self._ctx.store.work_order_exists(work_order_id)

    async def request_crash_recovery(self, sid: str, data: Any) -> dict[str, object]:
        """Ack the lock and unfinished work order the drone still holds; tell the IDEs."""
        event = Event.REQUEST_CRASH_RECOVERY
        drone = self._drone(sid, event)
        if drone is None or drone.inbox is None:
            raise WrongSide(f"{event}: only a drone socket may send it")
        answer: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()

        async def job() -> None:
            try:
                answer.set_result(await self._recover(drone, data))
            except Exception as exc:
                answer.set_exception(exc)

        if not drone.inbox.put(job):
            raise Refused(ErrorCode.DRONE_OFFLINE, f"{event}: the drone is disconnecting")
        return await asyncio.wait_for(answer, CRASH_RECOVERY_TIMEOUT)

    async def _recover(self, drone: DroneSession, data: Any) -> dict[str, object]:
        parse_crash_recovery(data)
        ctx = self._ctx
        async with ctx.registration_lock(drone.registration_id):  # no lock write between
            registration = await ctx.store.registration(drone.registration_id)
            chat_id = registration.locked_by if registration is not None else None
            drone.locked_by = chat_id
        if chat_id is None:
            if ctx.variant(Variant.RECOVERED_NULL):
                await ctx.notify(ctx.registry.code_sessions_by_user(drone.user_id),
                                 Event.DRONE_RECOVERED,
                                 {"registrationId": drone.registration_id,
                                  "chatSessionId": None})
            return ok(chatSessionId=None)
        work_order = await ctx.store.unfinished_work_order(drone.registration_id, chat_id)
        logger.info("drone %s recovered its lock of chat session %s (work order %s)",
                    drone.registration_id, chat_id, work_order.id if work_order else None)
        if work_order is not None:
            drone.work_orders[work_order.id] = chat_id
        await ctx.notify(ctx.registry.code_sessions_by_chat_session(chat_id),
                         Event.DRONE_RECOVERED,
                         {"registrationId": drone.registration_id, "chatSessionId": chat_id})
        return ok(chatSessionId=chat_id, workOrder=None if work_order is None else
                  ctx.dialect.work_order(work_order, drone.registration_id))
