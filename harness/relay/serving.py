"""Run the reference relay until SIGINT or SIGTERM (what ``harness relay`` does).

A stop always ends the process. ``Relay.stop`` gets ``STOP_LIMIT`` seconds, a second signal
cuts it short, and the tasks left after it get ``LEFTOVER_LIMIT`` seconds to end once
cancelled. A task that outlives that (pymongo's server selection, cancelled while the
database was going away, could wait on forever) is logged with its stack, and the process
exits without waiting for it: an orphaned relay once ran for an hour and a half after the
harness that started it had gone.

``run`` uses uvloop's event loop where uvloop is installed (not on Windows): its socket I/O
and task switches take the relay about a tenth less CPU per forwarded event than asyncio's
own loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.host import write_port_file
from harness.relay.app import SHUTDOWN_GRACE, STOP_TIMEOUT, Relay
from harness.settings import RelaySettings

__all__ = ["run", "serve"]

logger = logging.getLogger(__name__)

STOP_LIMIT = STOP_TIMEOUT + SHUTDOWN_GRACE + 10.0  # Relay.stop's own bounds, and a margin
LEFTOVER_LIMIT = 2.0  # for the tasks left after the stop to end once cancelled
_ASYNCIO = Path(asyncio.__file__).parent


async def serve(settings: RelaySettings, port_file: Path | None = None) -> None:
    """Start a relay, write its port to ``port_file``, and run until SIGINT or SIGTERM.

    Raises ``DatabaseError`` when the database is unreachable at start-up.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    relay = Relay(settings)
    try:
        port = await relay.start()
        if port_file is not None:
            await asyncio.to_thread(write_port_file, port_file, port)
        await stop.wait()
        logger.info("relay stopping")
    finally:
        await _bounded_stop(relay, loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _bounded_stop(relay: Relay, loop: asyncio.AbstractEventLoop) -> None:
    """``relay.stop()``, cut short after ``STOP_LIMIT`` seconds or by another signal."""
    stopping = asyncio.ensure_future(relay.stop())
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.cancel)
    try:
        async with asyncio.timeout(STOP_LIMIT):
            await stopping
    except TimeoutError:
        logger.warning("the relay's stop did not finish within %.0f s; exiting anyway",
                       STOP_LIMIT)
    except asyncio.CancelledError:
        if not stopping.cancelled():
            raise
        logger.warning("signalled again while stopping; exiting now")


async def _main(settings: RelaySettings, port_file: Path | None,
                stuck: list[asyncio.Task[object]]) -> None:
    """``serve``, then cancel the tasks left over; those that did not end go to ``stuck``."""
    try:
        await serve(settings, port_file)
    finally:
        stuck += await _cancel_leftovers(LEFTOVER_LIMIT)


async def _cancel_leftovers(limit: float) -> list[asyncio.Task[object]]:
    """Cancel every other task; log (grouped by where they wait) and return those still
    running after ``limit`` seconds."""
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if not tasks:
        return []
    _, pending = await asyncio.wait(tasks, timeout=limit)
    if pending:
        places = Counter(_waiting_at(task) for task in pending)
        logger.warning("%d task(s) did not end %.0f s after they were cancelled: %s",
                       len(pending), limit,
                       "; ".join(f"{n} waiting at {where}" for where, n in places.most_common()))
    return list(pending)


def _waiting_at(task: asyncio.Task[object]) -> str:
    """Where ``task`` waits: its innermost coroutine outside asyncio itself, as
    ``file:line (function)``."""
    frames = []
    coro: Any = task.get_coro()
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        frames.append(coro.cr_frame)
        coro = getattr(coro, "cr_await", None)
    own = [f for f in frames if Path(f.f_code.co_filename).parent != _ASYNCIO] or frames
    if not own:
        return repr(task.get_coro())
    frame = own[-1]
    parts = Path(frame.f_code.co_filename).parts
    return f"{'/'.join(parts[-2:])}:{frame.f_lineno} ({frame.f_code.co_name})"


def run(settings: RelaySettings, port_file: Path | None = None) -> None:
    """``serve`` on a new event loop (uvloop's where installed) until signalled; the
    process exits even when a cancelled task never ends (see the module's docstring)."""
    stuck: list[asyncio.Task[object]] = []
    runner = asyncio.Runner(loop_factory=_loop_factory())
    try:
        runner.run(_main(settings, port_file, stuck))
    except BaseException:
        if not stuck:  # else Runner.close would wait for them forever
            runner.close()
        raise
    if stuck:
        logger.warning("exiting with %d task(s) still running", len(stuck))
        logging.shutdown()
        os._exit(0)
    runner.close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
