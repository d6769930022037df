"""The agent: a plain asyncio process that drives one Locust process's users.

``python -m harness.locust.agent`` reads requests on stdin and writes answers, records and
reports on stdout (``harness.locust.wire``). Its pairs share one ``WorkerRun``: the same
drivers, recorder and ``StreamChecker`` as a ``harness load`` worker, so the invariants are
checked for exactly the users of this process, in memory bounded by their open streams.
When stdin closes (its Locust process died or finished), it closes every pair and exits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import sys
import time
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.load.actors import PairDriver
from harness.load.config import LoadConfig
from harness.load.metrics import WorkerStats
from harness.load.worker import WorkerArgs, WorkerRun
from harness.locust.wire import Record, decode, encode, pair_from_dict
from harness.protocol import Event
from harness.sim.history import Message

__all__ = ["Agent", "AgentStats", "main"]

log = logging.getLogger(__name__)

RECORDS_EVERY = 0.1  # seconds between two batches of records
REPORT_EVERY = 1.0  # seconds between two reports (violations, gauges)
# Outcomes of a work order that its own ``workOrder`` record already fails.
_WORK_ORDER_ERRORS = frozenset({"completion-timeout"})


def _size(message: Message | None) -> int:
    """The bytes of text a stream event carried (its ``text``, or a tool call's content)."""
    payload = message.payload if message is not None else None
    if not isinstance(payload, dict):
        return 0
    text = payload.get("text")
    if isinstance(text, str):
        return len(text)
    arguments = payload.get("arguments")
    content = arguments.get("content") if isinstance(arguments, dict) else None
    return len(content) if isinstance(content, str) else 0


class AgentStats(WorkerStats):
    """``WorkerStats`` that also keeps each measurement as a Locust record."""

    def __init__(self, run: Agent) -> None:
        super().__init__(0)
        self._run = run
        self.records: list[Record] = []

    def latency_of(self, event: str, seconds: float) -> None:
        super().latency_of(event, seconds)
        self.records.append(("event", event, seconds * 1000, _size(self._run.current), None))

    def ack(self, what: str, event: str, seconds: float, error: str | None) -> None:
        self.timing(what, seconds)
        if error is not None:
            WorkerStats.error(self, error)
        self.records.append(("ack", event, seconds * 1000, 0, error))

    def timing(self, what: str, seconds: float) -> None:
        super().timing(what, seconds)
        if what == "connect":
            self.records.append(("connect", "connect", seconds * 1000, 0, None))

    def error(self, code: str) -> None:
        super().error(code)
        if code.startswith("ack-timeout:"):
            event = code.split(":", 1)[1]
            timeout = self._run.config.ack_timeout * 1000
            self.records.append(("ack", event, timeout, 0, "ack-timeout"))
        elif code not in _WORK_ORDER_ERRORS:
            self.records.append(("error", code, 0.0, 0, code))


class Agent(WorkerRun):
    """One Locust process's pairs, started, prompted and closed on request."""

    stats: AgentStats

    def __init__(self, relay_url: str, config: LoadConfig, write: Any) -> None:
        self.current: Message | None = None
        super().__init__(WorkerArgs(0, relay_url, config, (), 0, None), time.time())
        # Locust spawns the users and ends the run: no ramp, no deadline of the agent's own.
        self.steady_at, self.deadline = 0.0, math.inf
        self._write = write
        self._drivers: dict[str, PairDriver] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._rng = random.Random(config.random_seed)

    def make_stats(self) -> AgentStats:
        return AgentStats(self)

    def record_message(self, message: Message) -> None:
        self.current = message
        super().record_message(message)

    # --- requests --------------------------------------------------------------------
    def handle(self, request: dict[str, Any]) -> None:
        """Run one request as a task; its answer is written when it is done."""
        task = asyncio.create_task(self._answer(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, request: dict[str, Any]) -> None:
        started = time.monotonic()
        outcome: str | None = None
        try:
            ok, outcome = await self._run(request)
        except HarnessError as exc:
            ok, outcome = False, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # the Locust side shows it as the request's failure
            log.exception("agent: %s failed", request.get("op"))
            ok, outcome = False, f"{type(exc).__name__}: {exc}"
        self._write({"re": request.get("id"), "ok": ok, "outcome": outcome,
                     "ms": (time.monotonic() - started) * 1000})

    async def _run(self, request: dict[str, Any]) -> tuple[bool, str | None]:
        op, user = request.get("op"), str(request.get("user"))
        if op == "start":
            pair = pair_from_dict(request.get("pair"), f"start of user {user}")
            driver = self.add_driver(pair, random.Random(self._rng.random() + pair.index))
            driver.crash_rate = float(request.get("crash_rate") or 0.0)
            driver.ide_churn = float(request.get("ide_churn") or 0.0)
            self._drivers[user] = driver
            return (True, None) if await driver.start() else (False, "setup-failed")
        if op == "prompt":
            driver = self._drivers[user]
            started = time.monotonic()
            # A crash, or a failed start, is set up again first.
            if (not driver.drone.connected or not driver.ide.connected) \
                    and not await driver.start():
                return False, "setup-failed"
            going_on = await driver.prompt_once()
            seconds = time.monotonic() - started
            self.stats.records.append(("workOrder", Event.WORK_ORDER_COMPLETE,
                                       seconds * 1000, 0, driver.outcome))
            return driver.outcome is None and going_on, driver.outcome
        if op == "stop":
            driver = self._drivers.pop(user)
            await driver.close()
            self.forget_driver(driver)
            return True, None
        if op == "finish":
            await self.finish()
            return True, None
        raise ConfigError(f"unknown request {op!r}")

    async def finish(self) -> None:
        """Close every pair still open, settle the checker, send the last report."""
        self.stopped = True
        drivers = list(self._drivers.values())
        self._drivers.clear()
        await asyncio.gather(*(d.close() for d in drivers), return_exceptions=True)
        self.checker.finish()
        self.flush()

    # --- out -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the records so far and a report of what changed since the last one."""
        records, self.stats.records = self.stats.records, []
        if records:
            self._write({"op": "records", "r": records})
        snap = self.snapshot()
        self._write({"op": "report", "violations": snap.violations, "samples": snap.samples,
                     "delivered": sum(snap.delivered.values()), "cut_short": snap.lost_in_crash,
                     "ides": snap.gauges.ides, "drones": snap.gauges.drones})

    def flush_records(self) -> None:
        """Write the records so far (between two reports)."""
        records, self.stats.records = self.stats.records, []
        if records:
            self._write({"op": "records", "r": records})


async def serve(reader: asyncio.StreamReader, write: Any) -> None:
    """Read the config, then requests until EOF; answer, record and report meanwhile."""
    first = await reader.readline()
    if not first:
        return
    config_message = decode(first, "agent: config")
    # The agent's run has no end of its own (Locust ends it): any duration passes the check.
    config = LoadConfig(**{**config_message.get("config", {}), "duration": 1.0,
                           "events": None})
    agent = Agent(str(config_message.get("relay_url")), config, write)

    async def pump() -> None:
        reports = 0.0
        while True:
            await asyncio.sleep(RECORDS_EVERY)
            reports += RECORDS_EVERY
            if reports >= REPORT_EVERY:
                reports = 0.0
                agent.flush()
            else:
                agent.flush_records()

    pumping = asyncio.create_task(pump())
    try:
        while line := await reader.readline():
            try:
                request = decode(line, "agent: request")
            except ConfigError as exc:  # one line on stderr; the agent serves on
                log.error("%s", exc)
                continue
            agent.handle(request)
    finally:
        pumping.cancel()
        if not agent.stopped:
            await agent.finish()


def main() -> None:
    """Entry point: stdin and stdout are the pipe to the Locust process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="agent: %(levelname)s %(name)s: %(message)s")
    out = sys.stdout.buffer

    gone = False

    def write(message: dict[str, Any]) -> None:
        nonlocal gone
        if gone:
            return
        try:
            out.write(encode(message))
            out.flush()
        except BrokenPipeError:  # the Locust process has gone: nobody to tell
            gone = True

    async def run() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await serve(reader, write)

    asyncio.run(run())


if __name__ == "__main__":
    main()
