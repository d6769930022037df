"""The HTTP termination flow (section 8): ask a drone to exit and wait until it is offline.

    404 not-found            no such registration
    403 forbidden            another user's drone
    409 drone-offline        the registration is already offline
    409 drone-disconnected   registered online, but no live socket
    409 termination-rejected the drone acked false
    504 termination-timeout  no ack within the ack timeout, or not offline within the
                             poll timeout
    200 {"ok": true, "terminated": true}

A drone that disconnects before acking is taken to have exited, and the poll decides. A
drone still connected ``termination_exit_grace`` after accepting has its session ended by
the relay (it may have exited without its transport noticing: a polling drone), so "not
offline within the poll timeout" is left to a database that does not record it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from harness.protocol import DroneStatus, ErrorCode, Event
from harness.relay.context import Answer, RelayContext

__all__ = ["NO_TERMINATION_HANDLER", "TERMINATION_WAITS_FOR_TRANSPORT", "Outcome", "terminate"]

logger = logging.getLogger(__name__)

NO_TERMINATION_HANDLER = "no-termination-handler"
TERMINATION_WAITS_FOR_TRANSPORT = "termination-waits-for-transport"
"""The switch that brings back waiting for the drone's transport to notice its exit."""


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer of the flow: ``error`` is None on success."""

    status: int
    error: str | None = None
    message: str = ""


async def terminate(ctx: RelayContext, user_id: str, registration_id: str) -> Outcome:
    """Run the termination flow for ``user_id``'s drone ``registration_id`` (a valid id).

    Waits up to ``termination_ack_timeout`` for the ack and then up to
    ``termination_poll_timeout`` for ``offline``, polling every ``termination_poll_interval``.
    """
    settings = ctx.settings
    registration = await ctx.store.registration(registration_id)
    if registration is None:
        return Outcome(404, ErrorCode.NOT_FOUND, f"no drone registration {registration_id}")
    if registration.user_id != user_id:
        return Outcome(403, ErrorCode.FORBIDDEN,
                       f"drone registration {registration_id} is another user's")
    if registration.status == DroneStatus.OFFLINE:
        return Outcome(409, ErrorCode.DRONE_OFFLINE, f"drone {registration_id} is offline")
    drone = ctx.registry.drone_by_registration(registration_id)
    if drone is None:
        return Outcome(409, ErrorCode.DRONE_DISCONNECTED,
                       f"drone {registration_id} is registered {registration.status} "
                       "but has no live connection")
    if settings.regressed(NO_TERMINATION_HANDLER):
        # The original bug: nothing forwarded requestTermination to the drone.
        await asyncio.sleep(settings.termination_ack_timeout)
        answer = Answer.TIMEOUT
    else:
        answer = await ctx.ask_drone(drone, Event.REQUEST_TERMINATION, {},
                                     settings.termination_ack_timeout)
    if answer is Answer.REJECTED:
        return Outcome(409, ErrorCode.TERMINATION_REJECTED,
                       f"drone {registration_id} refused to terminate")
    if answer is Answer.TIMEOUT:
        return Outcome(504, ErrorCode.TERMINATION_TIMEOUT,
                       f"drone {registration_id} did not acknowledge requestTermination "
                       f"within {settings.termination_ack_timeout:g} s")
    logger.info("drone %s accepted termination; waiting for it to go offline",
                registration_id)
    if await _offline_within(ctx, registration_id, drone.sid):
        return Outcome(200)
    return Outcome(504, ErrorCode.TERMINATION_TIMEOUT,
                   f"drone {registration_id} accepted termination but was not offline "
                   f"within {settings.termination_poll_timeout:g} s")


async def _offline_within(ctx: RelayContext, registration_id: str, sid: str) -> bool:
    """Poll for ``offline``. A drone that accepted is gone whether or not its transport
    says so: a polling drone whose process exits is noticed only at the ping timeout
    (45 s by default), so after ``termination_exit_grace`` the relay ends the session of
    socket ``sid`` itself, which records the drone offline (section 9)."""
    settings = ctx.settings
    loop = asyncio.get_running_loop()
    end_session_at = None if settings.regressed(TERMINATION_WAITS_FOR_TRANSPORT) \
        else loop.time() + settings.termination_exit_grace
    try:
        async with asyncio.timeout(settings.termination_poll_timeout):
            while True:
                status = await ctx.store.registration_status(registration_id)
                if status in (DroneStatus.OFFLINE, None):
                    return True
                if end_session_at is not None and loop.time() >= end_session_at:
                    end_session_at = None
                    current = ctx.registry.drone_by_registration(registration_id)
                    if current is not None and current.sid == sid:
                        logger.info("drone %s accepted termination but is still connected "
                                    "as %s after %g s: ending its session", registration_id,
                                    sid, settings.termination_exit_grace)
                        await ctx.sio.disconnect(sid)
                await asyncio.sleep(settings.termination_poll_interval)
    except TimeoutError:
        return False
