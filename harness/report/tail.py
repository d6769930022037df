"""Writing a run's report in its tail, while its last scenarios wait out their timeouts.

The simulated clients and the report share one process: rendering a scenario's part of the
report (its trace, diagram and message list) while other scenarios stream would take CPU
from clients reading thousands of events, and a client that reads too slowly misses the
relay's PING (the pack runs a 5 s heartbeat). Once every scenario has started, what is left
is mostly waiting (the longest scenarios start first and wait out heartbeats and relay
timeouts), so from then on each finished scenario's part is written at once, in a worker
thread, and the report is nearly done when the last scenario is.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.outcome.results import ScenarioResult
from harness.report.files import RunReport

__all__ = ["TailWriter"]


class TailWriter:
    """Feeds ``report.add`` the results of a run of ``total`` scenarios, starting once the
    last scenario has started; one worker thread, one part at a time."""

    def __init__(self, report: RunReport, total: int) -> None:
        self._report = report
        self._total = total
        self._started = 0
        self._due: list[tuple[int, ScenarioResult]] = []
        self._writing: list[asyncio.Future[None]] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report")

    def started(self) -> None:
        """A scenario started (the last one opens the tail)."""
        self._started += 1
        self._flush()

    def finished(self, position: int, result: ScenarioResult) -> None:
        """The ``position``-th scenario of the run finished with ``result``."""
        self._due.append((position, result))
        self._flush()

    async def close(self, results: list[ScenarioResult] | None = None,
                    junit_xml: Path | None = None) -> None:
        """Wait for the parts being written, then with the run's ``results`` (in order)
        write the rest (``RunReport.finish``, in the worker thread, so it can overlap the
        environment's stop). Raises the first error (a ``ConfigError`` when the report
        folder cannot be written)."""
        try:
            for outcome in await asyncio.gather(*self._writing, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise outcome
            if results is not None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, self._report.finish, results,
                                           junit_xml)
        finally:
            self._executor.shutdown(wait=False)

    def _flush(self) -> None:
        if self._started < self._total or not self._due:
            return
        due, self._due = self._due, []
        loop = asyncio.get_running_loop()
        self._writing.append(loop.run_in_executor(self._executor, self._write, due))

    def _write(self, due: list[tuple[int, ScenarioResult]]) -> None:
        for position, result in due:
            self._report.add(position, result)
