"""Drone -> relay events (section 5): the stream, ``workOrderComplete``, crash recovery.

FIFO by construction: every handler here does nothing before its first ``await`` but put a
job into the drone session's ``Inbox``, and one worker per session runs those jobs one at a
time. python-socketio starts each event's task in arrival order (engine.io decodes one
socket's packets in order and ``asyncio`` runs new tasks' first steps in creation order), so
the jobs enter the inbox in arrival order; the worker then forwards each one completely
before it starts the next. Stream events never touch the database: the lock they are checked
against is the copy cached on the ``DroneSession`` (set on connect, lock, release, recovery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from harness.protocol import STREAM_EVENTS, ErrorCode, Event, ok
from harness.relay.context import Refused, RelayContext, guarded, single_payload
from harness.relay.registry import DroneSession
from harness.relay.validation import (
    PayloadError,
    parse_crash_recovery,
    parse_stream_event,
    parse_work_order_complete,
)

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
               guarded(Event.REQUEST_CRASH_RECOVERY, self.request_crash_recovery))

    def _drone(self, sid: str, event: str) -> DroneSession | None:
        session = self._ctx.registry.session(sid)
        if isinstance(session, DroneSession) and session.inbox is not None:
            return session
        logger.debug("dropped %s from %s: not a drone socket", event, sid)
        return None

    def _receiver(self, event: str) -> Callable[..., Awaitable[None]]:
        async def receive(sid: str, *args: Any) -> None:
            # No await before the put: see the module docstring.
            drone = self._drone(sid, event)
            if drone is None or drone.inbox is None:
                return
            data = single_payload(args)

            async def job() -> None:
                await self._forward(drone, event, data)

            drone.inbox.put(job)

        receive.__name__ = f"on_{event}"
        return receive

    async def _protocol_error(self, drone: DroneSession, event: str, code: str,
                              message: str) -> None:
        logger.debug("protocolError to %s on %s: %s", drone.sid, event, code)
        await self._ctx.sio.emit(Event.PROTOCOL_ERROR,
                                 {"event": event, "error": code, "message": message},
                                 to=drone.sid)

    async def _forward(self, drone: DroneSession, event: str, data: Any) -> None:
        try:
            if event == Event.WORK_ORDER_COMPLETE:
                parsed_complete = parse_work_order_complete(data)
                chat_id, payload = parsed_complete.chat_session_id, parsed_complete.payload
            else:
                parsed = parse_stream_event(event, data)
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
        if event == Event.WORK_ORDER_COMPLETE:
            recorded = await self._ctx.store.complete_work_order(
                parsed_complete.work_order_id, drone.registration_id, chat_id,
                parsed_complete.status)
            if not recorded:
                await self._protocol_error(
                    drone, event, ErrorCode.NOT_FOUND,
                    f"{event}: no work order {parsed_complete.work_order_id} of this drone "
                    f"and chat session")
                return
        targets = self._ctx.registry.code_sessions_by_chat_session(chat_id)
        await self._ctx.notify(targets, event,
                               {**payload, "registrationId": drone.registration_id})

    async def request_crash_recovery(self, sid: str, data: Any) -> dict[str, object]:
        """Ack the lock and unfinished work order the drone still holds; tell the IDEs."""
        event = Event.REQUEST_CRASH_RECOVERY
        drone = self._drone(sid, event)
        if drone is None or drone.inbox is None:
            raise Refused(ErrorCode.FORBIDDEN, f"{event}: only a drone socket may send it")
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
        registration = await ctx.store.registration(drone.registration_id)
        chat_id = registration.locked_by if registration is not None else None
        drone.locked_by = chat_id
        if chat_id is None:
            return ok(chatSessionId=None)
        work_order = await ctx.store.unfinished_work_order(drone.registration_id, chat_id)
        logger.info("drone %s recovered its lock of chat session %s (work order %s)",
                    drone.registration_id, chat_id, work_order.id if work_order else None)
        await ctx.notify(ctx.registry.code_sessions_by_chat_session(chat_id),
                         Event.DRONE_RECOVERED,
                         {"registrationId": drone.registration_id, "chatSessionId": chat_id})
        return ok(chatSessionId=chat_id, workOrder=None if work_order is None else {
            "id": work_order.id, "chatSessionId": work_order.chat_session_id,
            "prompt": work_order.prompt, "status": work_order.status})
