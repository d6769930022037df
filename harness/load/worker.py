"""A load worker process: its own event loop, its slice of pairs, snapshots to the parent.

The parent starts each worker with ``multiprocessing`` (spawn) on ``worker_main``; the worker
imports, says ``("ready", index)``, waits for ``go``, reads the common start time, drives its
pairs (ramp-up, steady phase, drain) and puts a ``Snapshot`` on the queue every interval,
the last one with ``final=True``. ``stop`` (set by the parent) ends the steady phase early.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from harness.load.actors import PairDriver
from harness.load.config import LoadConfig, Pair
from harness.load.invariants import StreamChecker
from harness.load.metrics import Gauges, Snapshot, WorkerStats
from harness.protocol import Event
from harness.sim.history import Message
from harness.sim.recorder import SinkHistory

__all__ = ["WorkerArgs", "WorkerRun", "worker_main"]

log = logging.getLogger(__name__)

# What an IDE hears that its driver waits for.
_HEARD = frozenset({Event.WORK_ORDER_COMPLETE, Event.DRONE_STATUS})


@dataclass(frozen=True)
class WorkerArgs:
    """Everything a worker needs (picklable; the pairs carry tokens, never logged)."""

    index: int
    relay_url: str
    config: LoadConfig
    pairs: tuple[Pair, ...]
    total_pairs: int
    events_budget: int | None
    log_level: str = "WARNING"


class WorkerRun:
    """The state one worker's drivers share: stats, checker, recorder, phase."""

    def __init__(self, args: WorkerArgs, start_at: float) -> None:
        self.args = args
        self.config = args.config
        self.relay_url = args.relay_url
        self.start_at = start_at
        self.stats = self.make_stats()
        self.checker = StreamChecker(on_latency=self.stats.latency_of,
                                     patience=args.config.completion_timeout)
        self.history = SinkHistory(self)
        self.stopped = False  # by the parent or the event budget
        self.setup_slots = asyncio.Semaphore(args.config.connecting_per_worker)
        self._by_ide: dict[str, PairDriver] = {}
        self._sent_violations: Counter[str] = Counter()
        self._sent_samples = 0
        self._sent_lost = 0
        self._delivered = 0
        config = self.config
        self.steady_at = start_at + config.ramp_up
        self.deadline = math.inf if config.duration is None else self.steady_at + config.duration

    def make_stats(self) -> WorkerStats:
        """The counters this run fills (a subclass may keep more)."""
        return WorkerStats(self.args.index)

    @property
    def stopping(self) -> bool:
        """True once no new prompt should start."""
        return self.stopped or time.time() >= self.deadline

    @property
    def phase(self) -> str:
        """``ramp``, ``steady`` or ``drain``."""
        if self.stopping:
            return "drain"
        return "ramp" if time.time() < self.steady_at else "steady"

    # --- Recorder ------------------------------------------------------------------------
    def record_message(self, message: Message) -> None:
        """Feed the checker, count, and tell drivers what their IDE heard."""
        self.checker.observe(message)
        direction, event = message.direction, message.event
        if message.kind == "drone":
            if direction == "sent":
                self.stats.sent[event] += 1
            elif direction == "received" and event == Event.PROTOCOL_ERROR:
                code = message.payload.get("error") if isinstance(message.payload, dict) else None
                self.stats.error(f"protocolError:{code}")
        if direction == "received":
            if message.kind == "ide" and event in _HEARD:
                self._heard(message)
        elif direction == "disconnect" and message.meta.get("reason") in ("server", "replaced"):
            self.stats.error(f"disconnected:{message.meta.get('reason')}")

    def _heard(self, message: Message) -> None:
        driver = self._by_ide.get(message.actor)
        if driver is None:
            return
        payload = message.payload if isinstance(message.payload, dict) else {}
        if message.event == Event.WORK_ORDER_COMPLETE:
            driver.work_order_complete(str(payload.get("workOrderId")))
        else:
            driver.drone_status(payload.get("registrationId"), payload.get("status"))

    # --- snapshots ---------------------------------------------------------------------------
    def snapshot(self, *, final: bool = False) -> Snapshot:
        """The delta since the previous snapshot."""
        checker = self.checker
        violations = checker.violations - self._sent_violations
        self._sent_violations = checker.violations.copy()
        samples = checker.samples[self._sent_samples:]
        self._sent_samples = len(checker.samples)
        cut_short = checker.lost_in_crash + checker.lost_on_leave
        lost, self._sent_lost = cut_short - self._sent_lost, cut_short
        drivers = self._by_ide.values()
        gauges = Gauges(
            ides=sum(d.ide.connected for d in drivers),
            drones=sum(d.drone.connected for d in drivers),
            open_streams=checker.open_streams,
            in_flight=checker.in_flight,
        )
        self._delivered += sum(self.stats.delivered.values())
        return self.stats.snapshot(time.time(), self.phase, gauges, dict(violations),
                                   samples, lost, final=final)

    def add_driver(self, pair: Pair, rng: random.Random) -> PairDriver:
        """A driver for ``pair``, known to the recorder and the checker."""
        driver = PairDriver(self, pair, rng)
        self._by_ide[driver.ide.name] = driver
        self.checker.add_drone(driver.drone.name, pair.registration_id, pair.user_id)
        self.checker.chat_owner(pair.chat_session_id, pair.user_id)
        return driver

    def forget_driver(self, driver: PairDriver) -> None:
        """Stop telling ``driver`` what its IDE hears (it has closed)."""
        self._by_ide.pop(driver.ide.name, None)

    async def run(self, send: Any, stop_requested: Any) -> None:
        """Drive every pair; ``send(snapshot)`` every interval; poll ``stop_requested()``."""
        rng = random.Random(self.config.random_seed)
        drivers = [self.add_driver(pair, random.Random(rng.random() + pair.index))
                   for pair in self.args.pairs]
        ramp = self.config.ramp_up
        total = max(self.args.total_pairs, 1)
        tasks = [
            asyncio.create_task(d.drive(max(self.start_at - time.time(), 0)
                                        + ramp * d.pair.index / total))
            for d in drivers
        ]
        budget = self.args.events_budget
        while not all(t.done() for t in tasks):
            await asyncio.wait(tasks, timeout=self.config.interval)
            if stop_requested():
                self.stopped = True
            if budget is not None and self._delivered + sum(
                    self.stats.delivered.values()) >= budget:
                self.stopped = True
            send(self.snapshot())
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("worker %d: a driver failed", self.args.index,
                          exc_info=task.exception())
                self.stats.error("driver-failed")
        self.checker.finish()
        send(self.snapshot(final=True))


def worker_main(args: WorkerArgs, queue: Any, go: Any, stop: Any, start_at: Any) -> None:
    """Process entry point (spawn): report ready, wait for ``go``, run, send snapshots."""
    logging.basicConfig(level=args.log_level,
                        format=f"worker {args.index}: %(levelname)s %(name)s: %(message)s")
    queue.put(("ready", args.index))
    if not go.wait(timeout=120):
        return
    try:
        run = WorkerRun(args, float(start_at.value))
        asyncio.run(run.run(queue.put, stop.is_set))
    except BaseException as exc:  # reported to the parent, which names the worker
        log.exception("worker %d failed", args.index)
        queue.put(("failed", args.index, f"{type(exc).__name__}: {exc}"))
