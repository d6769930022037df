"""IDE -> relay events (section 4), each answered with an ack.

Checks run in one order on every event: the sender must be an IDE socket (``forbidden``),
then ``invalid-payload``, ``invalid-id``, then ``forbidden`` if the registration or the chat
session named is another user's, then ``not-found`` (registration, then chat session), then
the drone's state. Ownership comes before existence so that a request touching another
user's drone or chat session is ``forbidden`` whatever else is wrong with it (section 11.1).
A ``submitPrompt`` that memory already shows to pass them all (the IDE opened the chat
session, whose owner was checked then; the drone is live, the user's, and its cached lock is
that chat session's) skips the two database reads: the streams' lock check trusts the same
cache (``drone_handlers.py``).

Variants (``harness.relay.variants``): ``error-precedence`` checks ids before shape and puts
``drone-locked`` / ``not-locked`` before ``drone-offline``; ``blank-prompt-accepted``;
``lock-pending-refused`` refuses a lock request that overlaps a pending one instead of
letting it wait; ``ack-after-stream`` acks ``submitPrompt`` after the first event of its
work order reached the IDEs (at most ``FIRST_STREAM_WAIT`` later) and ``requestSessionLock``
before its ``droneStatus busy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final

from harness.protocol import DroneStatus, ErrorCode, Event, WorkOrderStatus, ok
from harness.relay.context import Answer, Refused, RelayContext, WrongSide
from harness.relay.registry import CodeSession, DroneSession
from harness.relay.store import ChatSessionDoc, RegistrationDoc
from harness.relay.validation import (
    SubmitPrompt,
    parse_lock_request,
    parse_open_chat_session,
    parse_submit_prompt,
)
from harness.settings import Variant

__all__ = ["LOCK_RETRY_OK", "IdeHandlers"]

logger = logging.getLogger(__name__)

LOCK_RETRY_OK = "lock-retry-ok"

FIRST_STREAM_WAIT: Final = 1.0  # ack-after-stream: the longest a submitPrompt ack waits

_ANSWER_ERRORS = {
    Answer.REJECTED: (ErrorCode.DRONE_REJECTED, "the drone refused {what}"),
    Answer.TIMEOUT: (ErrorCode.DRONE_TIMEOUT, "the drone did not acknowledge {what} in time"),
    Answer.GONE: (ErrorCode.DRONE_OFFLINE, "the drone disconnected before acknowledging {what}"),
}


def _refusal(answer: Answer, event: str, what: str) -> Refused:
    code, text = _ANSWER_ERRORS[answer]
    return Refused(code, f"{event}: " + text.format(what=what))


class IdeHandlers:
    """``openChatSession``, ``requestSessionLock``, ``releaseSessionLock``, ``submitPrompt``."""

    def __init__(self, ctx: RelayContext) -> None:
        self._ctx = ctx

    def register(self) -> None:
        """Install the handlers on the server."""
        ctx = self._ctx
        for event, handler in ((Event.OPEN_CHAT_SESSION, self.open_chat_session),
                               (Event.REQUEST_SESSION_LOCK, self.request_session_lock),
                               (Event.RELEASE_SESSION_LOCK, self.release_session_lock),
                               (Event.SUBMIT_PROMPT, self.submit_prompt)):
            ctx.sio.on(event, ctx.guarded(event, handler))

    # -- shared checks ---------------------------------------------------------------------

    def _code_session(self, sid: str, event: str) -> CodeSession:
        session = self._ctx.registry.session(sid)
        if not isinstance(session, CodeSession):
            raise WrongSide(f"{event}: only an IDE (code) socket may send it")
        return session

    async def _resolve(self, event: str, user_id: str, registration_id: str,
                       chat_session_id: str) -> tuple[RegistrationDoc, ChatSessionDoc]:
        store = self._ctx.store
        # Two independent reads: one round trip of latency instead of two.
        registration, chat = await asyncio.gather(store.registration(registration_id),
                                                  store.chat_session(chat_session_id))
        if registration is not None and registration.user_id != user_id:
            raise Refused(ErrorCode.FORBIDDEN,
                          f"{event}: drone registration {registration_id} is another user's")
        if chat is not None and chat.user_id != user_id:
            raise Refused(ErrorCode.FORBIDDEN,
                          f"{event}: chat session {chat_session_id} is another user's")
        if registration is None:
            raise Refused(ErrorCode.NOT_FOUND, f"{event}: no drone registration {registration_id}")
        if chat is None:
            raise Refused(ErrorCode.NOT_FOUND, f"{event}: no chat session {chat_session_id}")
        return registration, chat

    async def _lock_request(self, sid: str, event: str, data: Any
                            ) -> tuple[CodeSession, RegistrationDoc, ChatSessionDoc]:
        """The checks shared by lock and release: who asks, for which drone and chat."""
        session = self._code_session(sid, event)
        request = parse_lock_request(event, data, self._ctx.rules)
        registration, chat = await self._resolve(event, session.user_id,
                                                 request.registration_id,
                                                 request.chat_session_id)
        return session, registration, chat

    def _live_drone(self, event: str, registration_id: str) -> DroneSession:
        drone = self._ctx.registry.drone_by_registration(registration_id)
        if drone is None:
            raise Refused(ErrorCode.DRONE_OFFLINE,
                          f"{event}: drone {registration_id} has no live connection")
        return drone

    def _locked_for(self, session: CodeSession, request: SubmitPrompt
                    ) -> tuple[DroneSession, str] | None:
        """The live drone and chat session of a prompt when memory already tells what the
        database reads of ``_check_submit`` would: this IDE opened the chat session (its
        owner was checked then), and the drone is the user's, live, and locked by it (the
        lock cached under the registration lock with each write). None: read them."""
        drone = self._ctx.registry.drone_by_registration(request.registration_id)
        chat_id = request.chat_session_id
        if (drone is None or drone.closed.is_set() or drone.user_id != session.user_id
                or drone.locked_by != chat_id or chat_id not in session.chat_session_ids):
            return None
        return drone, chat_id

    async def _check_submit(self, event: str, session: CodeSession, request: SubmitPrompt
                            ) -> tuple[DroneSession, str]:
        """The live drone and chat session of a prompt, from the database; raises
        ``Refused`` in the order of the module docstring."""
        registration, chat = await self._resolve(event, session.user_id,
                                                 request.registration_id,
                                                 request.chat_session_id)
        not_locked = Refused(ErrorCode.NOT_LOCKED,
                             f"{event}: drone {registration.id} is not locked by chat session "
                             f"{chat.id}")
        if self._ctx.variant(Variant.ERROR_PRECEDENCE) and registration.locked_by != chat.id:
            raise not_locked
        drone = self._live_drone(event, registration.id)
        if registration.locked_by != chat.id:
            raise not_locked
        return drone, chat.id

    # -- events ----------------------------------------------------------------------------

    async def open_chat_session(self, sid: str, data: Any) -> dict[str, object]:
        """Index the chat session to this code session after checking it is the user's."""
        event = Event.OPEN_CHAT_SESSION
        session = self._code_session(sid, event)
        request = parse_open_chat_session(data, self._ctx.rules)
        chat = await self._ctx.store.chat_session(request.chat_session_id)
        if chat is None:
            raise Refused(ErrorCode.NOT_FOUND,
                          f"{event}: no chat session {request.chat_session_id}")
        if chat.user_id != session.user_id:
            raise Refused(ErrorCode.FORBIDDEN,
                          f"{event}: chat session {chat.id} is another user's")
        if sid not in self._ctx.registry:
            # The socket went away while we read the database: index nothing.
            raise Refused(ErrorCode.NOT_FOUND, f"{event}: socket {sid} has disconnected")
        self._ctx.registry.index_chat_session(sid, chat.id)
        return ok()

    async def request_session_lock(self, sid: str, data: Any) -> dict[str, object]:
        """Lock a drone for a chat session once the drone accepts; one request at a time.

        A request that arrives while another for the same drone waits for the drone's ack
        waits until that one is settled, then reads the lock afresh (section 4): it is
        never answered ok unless the drone accepted. ``lockedBy`` is written only then.
        With ``lock-pending-refused`` it is refused ``drone-locked`` at once instead.
        """
        event = Event.REQUEST_SESSION_LOCK
        ctx = self._ctx
        session, registration, chat = await self._lock_request(sid, event, data)
        pending_refused = ctx.variant(Variant.LOCK_PENDING_REFUSED)
        locked_elsewhere = Refused(ErrorCode.DRONE_LOCKED,
                                   f"{event}: drone {registration.id} is locked by another "
                                   "chat session")
        if ctx.settings.regressed(LOCK_RETRY_OK) and \
                ctx.pending_locks.get(registration.id) == chat.id:
            # The v1 bug: the lock was reserved before the drone was asked, so a retry
            # from the same chat session looked like a re-lock of a held lock.
            return ok()
        if pending_refused and registration.id in ctx.pending_locks:
            raise Refused(ErrorCode.DRONE_LOCKED,
                          f"{event}: a lock request for drone {registration.id} is waiting "
                          "for the drone's answer")
        async with ctx.lock_request_lock(registration.id):
            current = await ctx.store.registration(registration.id)
            if current is None:
                raise Refused(ErrorCode.NOT_FOUND,
                              f"{event}: no drone registration {registration.id}")
            if ctx.variant(Variant.ERROR_PRECEDENCE) and current.locked_by not in (None,
                                                                                  chat.id):
                raise locked_elsewhere
            drone = self._live_drone(event, registration.id)
            if current.locked_by == chat.id:
                return ok()
            if current.locked_by is not None:
                raise locked_elsewhere
            ctx.pending_locks[registration.id] = chat.id
            try:
                answer = await ctx.ask_drone(
                    drone, Event.REQUEST_SESSION_LOCK,
                    {"chatSessionId": chat.id, "projectId": chat.project_id},
                    ctx.settings.drone_ack_timeout)
                if answer is not Answer.ACCEPTED:
                    raise _refusal(answer, event, "the lock")
                # Under the registration lock, as a connect reads the lock into its new
                # session: a drone reconnecting meanwhile either sees the lock or is the
                # session cached here, never a stale copy (its stream refused not-locked).
                async with ctx.registration_lock(registration.id):
                    if not await ctx.store.take_lock(registration.id, chat.id):
                        raise Refused(ErrorCode.DRONE_OFFLINE,
                                      f"{event}: drone {registration.id} went offline "
                                      "while locking")
                    ctx.cache_lock(registration.id, chat.id)
            finally:
                ctx.pending_locks.pop(registration.id, None)
        logger.info("drone %s locked by chat session %s", registration.id, chat.id)
        busy = ctx.drone_status(session.user_id, registration.id, DroneStatus.BUSY)
        if ctx.variant(Variant.ACK_AFTER_STREAM):
            ctx.after_ack(busy)
        else:
            await busy
        return ok()

    async def release_session_lock(self, sid: str, data: Any) -> dict[str, object]:
        """Clear the chat session's lock and tell the drone (without waiting for its ack)."""
        event = Event.RELEASE_SESSION_LOCK
        ctx = self._ctx
        session, registration, chat = await self._lock_request(sid, event, data)
        not_locked = Refused(ErrorCode.NOT_LOCKED,
                             f"{event}: chat session {chat.id} does not hold drone "
                             f"{registration.id}")
        if registration.locked_by != chat.id:
            raise not_locked
        async with ctx.registration_lock(registration.id):  # see request_session_lock
            drone = ctx.registry.drone_by_registration(registration.id)
            status = DroneStatus.ONLINE if drone is not None else DroneStatus.OFFLINE
            if not await ctx.store.release_lock(registration.id, chat.id, status):
                raise not_locked
            ctx.cache_lock(registration.id, None, only_if=chat.id)
        if drone is not None:
            await ctx.sio.emit(Event.RELEASE_SESSION_LOCK, {"chatSessionId": chat.id},
                               to=drone.sid, callback=_ignore_ack)
        logger.info("drone %s released by chat session %s", registration.id, chat.id)
        await ctx.drone_status(session.user_id, registration.id, status)
        return ok()

    async def submit_prompt(self, sid: str, data: Any) -> dict[str, object]:
        """Insert a pending work order, forward it, and mark it running on the drone's ack.

        A refused or unacknowledged prompt leaves its work order ``failed``.
        """
        event = Event.SUBMIT_PROMPT
        ctx = self._ctx
        session = self._code_session(sid, event)
        request = parse_submit_prompt(data, ctx.rules)
        drone, chat_id = self._locked_for(session, request) or \
            await self._check_submit(event, session, request)
        work_order_id = await ctx.store.insert_work_order(drone.registration_id, chat_id,
                                                          request.prompt)
        # Known before the drone hears of it: it may stream before it acks.
        drone.work_orders[work_order_id] = chat_id
        first_forward = None
        if ctx.variant(Variant.ACK_AFTER_STREAM):
            first_forward = ctx.first_forwards[work_order_id] = asyncio.Event()
        try:
            answer = await ctx.ask_drone(
                drone, Event.SUBMIT_PROMPT,
                {"workOrderId": work_order_id, "chatSessionId": chat_id,
                 "prompt": request.prompt},
                ctx.settings.drone_ack_timeout)
            pending = (WorkOrderStatus.PENDING,)
            if answer is not Answer.ACCEPTED:
                await ctx.store.advance_work_order(work_order_id, WorkOrderStatus.FAILED,
                                                   only_from=pending)
                raise _refusal(answer, event, f"work order {work_order_id}")
            await ctx.store.advance_work_order(work_order_id, WorkOrderStatus.RUNNING,
                                               only_from=pending)
            if first_forward is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(first_forward.wait(), FIRST_STREAM_WAIT)
        finally:
            ctx.first_forwards.pop(work_order_id, None)
        return ok(workOrderId=work_order_id)


def _ignore_ack(*args: Any) -> None:
    """The drone's ack of ``releaseSessionLock`` changes nothing: the relay already released."""
