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
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.load.actors import PairDriver
from harness.load.config import LoadConfig, Pair
from harness.load.metrics import WorkerStats
from harness.load.worker import WorkerArgs, WorkerRun
from harness.locust.wire import Record, decode, encode, pair_from_dict
from harness.protocol import Event
from harness.sim.history import Message
from harness.sim.ide import SimIDE
from harness.sim.reconnect import Reconnection

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


class Watcher:
    """A second IDE of the pairs' user that opens all their chat sessions and only reads:
    an IDE watching several chat sessions (it is owed every event of each)."""

    def __init__(self, agent: Agent, pairs: list[Pair]) -> None:
        first = pairs[0]
        self._agent, self._pairs = agent, pairs
        self.ide = SimIDE(f"watcher-{first.index}", agent.relay_url, token=first.user_token,
                          history=agent.history, transport=agent.config.transport,
                          user_id=first.user_id, reconnection=Reconnection(enabled=False))

    async def start(self) -> bool:
        """Connect and open every chat session; False if one was refused."""
        agent, ide = self._agent, self.ide
        started = time.monotonic()
        await ide.connect(timeout=agent.config.ack_timeout)
        agent.stats.timing("connect", time.monotonic() - started)
        for pair in self._pairs:
            agent.checker.ide_opening(ide.name, pair.user_id, pair.chat_session_id)
            started = time.monotonic()
            answer = await ide.emit(Event.OPEN_CHAT_SESSION,
                                    {"chatSessionId": pair.chat_session_id},
                                    timeout=agent.config.ack_timeout)
            ok = isinstance(answer, dict) and bool(answer.get("ok"))
            error = None if ok else f"{Event.OPEN_CHAT_SESSION}:" \
                f"{answer.get('error') if isinstance(answer, dict) else 'bad-ack'}"
            agent.stats.ack("open", Event.OPEN_CHAT_SESSION, time.monotonic() - started, error)
            if not ok:
                return False
            agent.checker.ide_opened(ide.name, pair.user_id, pair.chat_session_id)
        return True

    async def close(self) -> None:
        await self.ide.close()
        self._agent.checker.ide_left(self.ide.name)


@dataclass
class AgentUser:
    """One Locust user's pairs (one, or several of one user) and its watcher, if any."""

    drivers: list[PairDriver]
    watcher: Watcher | None = None

    async def close(self, agent: Agent) -> None:
        """The drones and their IDEs first, then the watcher (it may read until then)."""
        await asyncio.gather(*(d.close() for d in self.drivers), return_exceptions=True)
        for driver in self.drivers:
            agent.forget_driver(driver)
        if self.watcher is not None:
            await self.watcher.close()


class Agent(WorkerRun):
    """One Locust process's pairs, started, prompted and closed on request."""

    stats: AgentStats

    def __init__(self, relay_url: str, config: LoadConfig, write: Any) -> None:
        self.current: Message | None = None
        super().__init__(WorkerArgs(0, relay_url, config, (), 0, None), time.time())
        # Locust spawns the users and ends the run: no ramp, no deadline of the agent's own.
        self.steady_at, self.deadline = 0.0, math.inf
        self._write = write
        self._users: dict[str, AgentUser] = {}
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
            where = f"start of user {user}"
            raw = request.get("pairs")
            if not isinstance(raw, list) or not raw:
                raise ConfigError(f"{where}: pairs: expected a non-empty list")
            pairs = [pair_from_dict(item, where) for item in raw]
            drivers = []
            for pair in pairs:
                driver = self.add_driver(pair, random.Random(self._rng.random() + pair.index))
                driver.crash_rate = float(request.get("crash_rate") or 0.0)
                driver.ide_churn = float(request.get("ide_churn") or 0.0)
                drivers.append(driver)
            watcher = Watcher(self, pairs) if request.get("watcher") else None
            self._users[user] = AgentUser(drivers, watcher)
            started = await asyncio.gather(*(d.start() for d in drivers))
            if watcher is not None and all(started):
                started.append(await watcher.start())
            return (True, None) if all(started) else (False, "setup-failed")
        if op == "prompt":
            return await self._prompt(self._users[user])
        if op == "stop":
            await self._users.pop(user).close(self)
            return True, None
        if op == "finish":
            await self.finish()
            return True, None
        raise ConfigError(f"unknown request {op!r}")

    async def _prompt(self, user: AgentUser) -> tuple[bool, str | None]:
        """A work order on each of the user's drones at once (each its own record)."""
        async def one(driver: PairDriver) -> tuple[bool, str | None]:
            started = time.monotonic()
            # A crash, or a failed start, is set up again first.
            if (not driver.drone.connected or not driver.ide.connected) \
                    and not await driver.start():
                return False, "setup-failed"
            going_on = await driver.prompt_once()
            seconds = time.monotonic() - started
            if driver.outcome == "crashed":  # the chaos asked for: not a failure
                self.stats.records.append(("workOrder", "crashed", seconds * 1000, 0, None))
                return going_on, None
            self.stats.records.append(("workOrder", Event.WORK_ORDER_COMPLETE,
                                       seconds * 1000, 0, driver.outcome))
            return driver.outcome is None and going_on, driver.outcome

        if user.watcher is not None and not user.watcher.ide.connected:
            await user.watcher.start()
        results = await asyncio.gather(*(one(d) for d in user.drivers))
        failed = [outcome for ok, outcome in results if not ok]
        return (False, failed[0]) if failed else (True, None)

    async def finish(self) -> None:
        """Close every user still open, settle the checker, send the last report."""
        self.stopped = True
        users = list(self._users.values())
        self._users.clear()
        await asyncio.gather(*(u.close(self) for u in users), return_exceptions=True)
        self.checker.finish()
        self.flush()

    # --- out -----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the records so far and a report of what changed since the last one."""
        self.flush_records()
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
