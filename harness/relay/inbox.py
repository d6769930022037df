"""A sequential worker per drone session: jobs run one at a time, in the order they were put.

Why: python-socketio runs every inbound event in its own task (``async_handlers=True``),
and a handler that awaits anything (the database, an emit) can be overtaken by the task of
the next event. The drone handlers therefore do nothing but ``put`` a job, synchronously,
before their first ``await``; this worker then runs the jobs strictly one after another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["Inbox", "Job"]

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Inbox:
    """A FIFO of jobs drained by one task. ``put`` never blocks; ``close`` drains and stops."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name=f"inbox-{name}")

    def put(self, job: Job) -> bool:
        """Queue ``job``; False (and the job is dropped) once the inbox is closed."""
        if self._closed:
            logger.debug("inbox %s closed; dropped a job", self._name)
            return False
        self._queue.put_nowait(job)
        return True

    async def close(self, timeout: float) -> None:
        """Run the jobs already queued (up to ``timeout`` seconds), then stop the worker."""
        if self._closed:
            return
        self._closed = True
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            logger.warning("inbox %s did not drain in %.1f s; cancelling", self._name, timeout)
            self._task.cancel()

    async def _run(self) -> None:
        while (job := await self._queue.get()) is not None:
            try:
                await job()
            except Exception:
                logger.exception("inbox %s: job failed", self._name)
