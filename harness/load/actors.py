"""One chat session's IDE and its drone, driven in a loop inside a worker.

The IDE opens the chat session, locks the drone and submits prompts back to back; the drone
streams its script for each. Chaos, when asked for: the drone crashes mid-stream and comes
back (the IDE waits for ``droneStatus offline``, then locks it again), or the IDE leaves and
comes back between prompts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any, Protocol

from harness.errors import EnvError, HarnessError, ScenarioTimeout
from harness.load.config import LoadConfig, Pair
from harness.load.invariants import StreamChecker
from harness.load.metrics import WorkerStats
from harness.protocol import DroneStatus, ErrorCode, Event
from harness.sim.drone import SimDrone
from harness.sim.errors import AckTimeout, ConnectRefused
from harness.sim.history import MessageHistory
from harness.sim.ide import SimIDE
from harness.sim.reconnect import Reconnection
from harness.sim.script import DroneBehaviour, StreamScript

__all__ = ["DriverRun", "PairDriver", "script_for"]

log = logging.getLogger(__name__)

_SETUP_ATTEMPTS = 3
_BACKOFF = 0.5
_OFFLINE_TIMEOUT = 10.0
_RELOCKABLE = (ErrorCode.DRONE_LOCKED, ErrorCode.DRONE_OFFLINE, ErrorCode.NOT_LOCKED,
               ErrorCode.DRONE_TIMEOUT)


def script_for(events: int, text_size: int, pacing: float) -> StreamScript:
    """A stream of ``events`` events: a fifth tool calls, the rest thinking and responses."""
    tools = events // 5
    thinking = (events - tools) // 2
    return StreamScript(thinking=thinking, responses=events - tools - thinking,
                        tool_calls=tools, text_size=text_size, pacing=pacing)


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, AckTimeout):
        return f"ack-timeout:{exc.event}"
    if isinstance(exc, ConnectRefused):
        return f"connect-refused:{exc.reason}"
    if isinstance(exc, ScenarioTimeout):
        return "timeout"
    if isinstance(exc, EnvError):
        return "connect-failed"
    return type(exc).__name__


class DriverRun(Protocol):
    """What a driver needs of its worker (``harness.load.worker.WorkerRun`` is one)."""

    @property
    def config(self) -> LoadConfig: ...

    @property
    def relay_url(self) -> str: ...

    @property
    def history(self) -> MessageHistory: ...

    @property
    def stats(self) -> WorkerStats: ...

    @property
    def checker(self) -> StreamChecker: ...

    @property
    def stopping(self) -> bool: ...

    @property
    def setup_slots(self) -> asyncio.Semaphore: ...


# The driver reconnects its pair itself (``_setup``), reopening and relocking as it does.
_NO_RECONNECTION = Reconnection(enabled=False)


class PairDriver:
    """Drives one (IDE, drone) pair until the worker stops, counting into its stats."""

    def __init__(self, run: DriverRun, pair: Pair, rng: random.Random) -> None:
        config = run.config
        self.run = run
        self.pair = pair
        self.rng = rng
        self.ide = SimIDE(f"ide-{pair.index}", run.relay_url, token=pair.user_token,
                          history=run.history, transport=config.transport,
                          user_id=pair.user_id, reconnection=_NO_RECONNECTION)
        script = script_for(config.events_per_prompt, config.text_size, config.pacing)
        self.drone = SimDrone(f"drone-{pair.index}", run.relay_url,
                              registration_id=pair.registration_id, token=pair.drone_token,
                              history=run.history, behaviour=DroneBehaviour(script=script),
                              transport=config.transport, user_id=pair.user_id,
                              reconnection=_NO_RECONNECTION)
        self._stream_seconds = max(config.events_per_prompt * config.pacing, 0.02)
        # How long a work order may take: its stream at the drone's pace, and then the
        # completion timeout (a 60-event stream at 1/s is not late after 30 s).
        self._completion_wait = config.events_per_prompt * config.pacing \
            + config.completion_timeout
        self._waiting: tuple[str, asyncio.Future[None]] | None = None
        self._early: str | None = None
        self._completed = asyncio.Event()  # some workOrderComplete since the last submit
        # This pair's chaos, the run's unless told otherwise (a Locust user class's own).
        self.crash_rate, self.ide_churn = config.crash_rate, config.ide_churn
        # How the last prompt ended: None (completed), or an error code.
        self.outcome: str | None = None
        self._offline = asyncio.Event()
        self._opened = False  # this IDE connection's openChatSession was acked ok

    # --- called by the worker's recorder ----------------------------------------------
    def work_order_complete(self, work_order_id: str) -> None:
        """The IDE received ``workOrderComplete`` for ``work_order_id``."""
        self._completed.set()
        if self._waiting is not None and self._waiting[0] == work_order_id:
            if not self._waiting[1].done():
                self._waiting[1].set_result(None)
        else:
            self._early = work_order_id  # arrived before the submitPrompt ack

    def drone_status(self, registration_id: Any, status: Any) -> None:
        """The IDE received ``droneStatus``."""
        if registration_id == self.pair.registration_id and status == DroneStatus.OFFLINE:
            self._offline.set()

    # --- steps ---------------------------------------------------------------------------
    async def _emit(self, what: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        answer = await self.ide.emit(event, payload, timeout=self.run.config.ack_timeout)
        seconds = time.monotonic() - started
        if not isinstance(answer, dict):
            self.run.stats.ack(what, event, seconds, f"bad-ack:{event}")
            return {"ok": False, "error": "bad-ack"}
        error = None if answer.get("ok") else f"{event}:{answer.get('error')}"
        self.run.stats.ack(what, event, seconds, error)
        return answer

    async def _connect(self, client: SimIDE | SimDrone) -> None:
        started = time.monotonic()
        await client.connect(timeout=self.run.config.ack_timeout)
        self.run.stats.timing("connect", time.monotonic() - started)

    async def _open(self) -> bool:
        pair = self.pair
        # From now on the relay may index the IDE on the chat session at any moment (an
        # ack that times out does not mean it did not): what arrives is not foreign.
        self.run.checker.ide_opening(self.ide.name, pair.user_id, pair.chat_session_id)
        answer = await self._emit("open", Event.OPEN_CHAT_SESSION,
                                  {"chatSessionId": pair.chat_session_id})
        if answer.get("ok"):
            self.run.checker.ide_opened(self.ide.name, pair.user_id, pair.chat_session_id)
            self._opened = True
            return True
        return False

    async def _lock(self) -> bool:
        for _ in range(_SETUP_ATTEMPTS):
            answer = await self._emit("lock", Event.REQUEST_SESSION_LOCK, {
                "registrationId": self.pair.registration_id,
                "chatSessionId": self.pair.chat_session_id})
            if answer.get("ok"):
                return True
            if answer.get("error") not in _RELOCKABLE or self.run.stopping:
                return False
            await asyncio.sleep(_BACKOFF)
        return False

    async def _setup(self) -> bool:
        async with self.run.setup_slots:  # a bounded number of pairs connect at once
            if self.run.stopping:  # the run ended while this pair waited for its turn
                return False
            return await self._set_up()

    async def _set_up(self) -> bool:
        for _ in range(_SETUP_ATTEMPTS):
            try:
                if not self.drone.connected:
                    await self._connect(self.drone)
                if not self.ide.connected:
                    self._opened = False
                    await self._connect(self.ide)
                if not self._opened and not await self._open():  # again after a timeout
                    return False
                return await self._lock()
            except HarnessError as exc:
                self.run.stats.error(_error_code(exc))
                log.debug("%s: setup failed: %s", self.ide.name, exc)
                if self.run.stopping:
                    return False
                await asyncio.sleep(_BACKOFF)
        return False

    async def _churn_ide(self) -> bool:
        await self.ide.disconnect()
        self.run.checker.ide_left(self.ide.name)
        self._opened = False
        await self._connect(self.ide)
        return await self._open()

    async def _crash_and_return(self, work_order_id: str, done: asyncio.Future[None]) -> bool:
        await asyncio.sleep(self.rng.uniform(0, self._stream_seconds))
        self._offline.clear()
        await self.drone.crash()
        if not done.done():
            self.run.checker.abandon(work_order_id)
        try:
            await asyncio.wait_for(self._offline.wait(), _OFFLINE_TIMEOUT)
        except TimeoutError:
            self.run.stats.error("no-offline-status")
        self.run.stats.crashes += 1
        return await self._setup()

    async def _prompt(self) -> bool:
        pair = self.pair
        self._completed.clear()
        self.outcome = "not-submitted"
        try:
            answer = await self._emit("submit", Event.SUBMIT_PROMPT, {
                "registrationId": pair.registration_id, "chatSessionId": pair.chat_session_id,
                "prompt": f"load prompt for {self.drone.name}"})
        except AckTimeout as exc:  # an overloaded relay: the drone may stream anyway
            self.outcome = _error_code(exc)
            self.run.stats.error(self.outcome)
            # Not at once again: one prompt a pair at a time, also when the relay takes it
            # late (the next waits for a workOrderComplete, or the completion timeout).
            if not self.run.stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._completed.wait(), self._completion_wait)
            return self.drone.connected and self.ide.connected
        if not answer.get("ok"):
            self.outcome = f"{Event.SUBMIT_PROMPT}:{answer.get('error')}"
            if self.run.stopping:
                return False
            await asyncio.sleep(_BACKOFF)
            return await self._setup() if answer.get("error") in _RELOCKABLE else True
        work_order_id = str(answer.get("workOrderId"))
        self.run.stats.work_orders += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._early == work_order_id:
            done.set_result(None)
        self._early = None
        self._waiting = (work_order_id, done)
        try:
            if self.rng.random() < self.crash_rate:
                self.outcome = "crashed"
                return await self._crash_and_return(work_order_id, done)
            try:
                await asyncio.wait_for(asyncio.shield(done), self._completion_wait)
                self.outcome = None
            except TimeoutError:
                self.outcome = "completion-timeout"
                self.run.stats.error(self.outcome)
                self.run.checker.give_up(work_order_id)
            return True
        finally:
            self._waiting = None

    async def drive(self, start_delay: float) -> None:
        """Connect after ``start_delay`` s, prompt until the worker stops, then close."""
        try:
            await asyncio.sleep(start_delay)
            if self.run.stopping or not await self._setup():
                return
            while not self.run.stopping:
                if not await self.prompt_once():
                    return
        except HarnessError as exc:
            self.run.stats.error(_error_code(exc))
            log.debug("%s: stopped: %s", self.ide.name, exc)
        finally:
            await self.close()

    # --- one step at a time (a Locust user's on_start, tasks and on_stop) -------------------
    async def start(self) -> bool:
        """Connect both, open the chat session and lock the drone; False if it failed."""
        return await self._setup()

    async def prompt_once(self) -> bool:
        """One prompt (after the IDE's churn, if drawn), its stream and completion; False
        when the pair cannot go on. ``outcome`` says how the work order ended."""
        churn = self.ide_churn
        if churn and self.rng.random() < churn and not await self._churn_ide():
            self.outcome = "churn-failed"
            return False
        return await self._prompt()

    async def close(self) -> None:
        """The drone first (no new events), then the IDE; only then is the IDE off its chat
        session for the checker (it may legitimately receive until it closes)."""
        await self.drone.close()
        await self.ide.close()
        self.run.checker.ide_left(self.ide.name)
