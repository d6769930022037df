"""Locust's side of the pipe to an agent (gevent): requests, and the agent's measurements as
Locust request events.

One ``AgentProcess`` per Locust process that runs users. ``call`` blocks the calling
greenlet (only it) until the agent answers; a reader greenlet fires ``events.request`` for
every record and keeps the agent's reports until the next report to the master.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections import Counter
from typing import Any

import gevent
from gevent import subprocess
from gevent.event import AsyncResult

from harness.locust.wire import decode, encode

__all__ = ["AgentDied", "AgentFailure", "AgentProcess", "Ledger"]

log = logging.getLogger(__name__)

MAX_SAMPLES = 50  # violation texts kept (counts are always exact)


class AgentFailure(Exception):
    """A failed measurement, as Locust's failure table shows it (the error code)."""


class AgentDied(Exception):
    """The agent process ended while a request waited for it."""


class Ledger:
    """What the checkers found, summed: violations (exact counts, some texts), delivered
    events, events cut short; and per worker what it held when it went missing."""

    def __init__(self) -> None:
        self.violations: Counter[str] = Counter()
        self.samples: list[str] = []
        self.delivered = 0
        self.cut_short = 0
        self.lost_workers: dict[str, int] = {}  # worker id -> pairs it held

    def add(self, report: dict[str, Any]) -> None:
        """Merge one report (an agent's, or a worker's sum of them)."""
        self.violations.update({str(k): int(v) for k, v in
                                (report.get("violations") or {}).items()})
        room = MAX_SAMPLES - len(self.samples)
        if room > 0:
            self.samples += [str(s) for s in (report.get("samples") or [])][:room]
        self.delivered += int(report.get("delivered") or 0)
        self.cut_short += int(report.get("cut_short") or 0)

    def take(self) -> dict[str, Any]:
        """This ledger as a report, emptied (what a worker sends to its master)."""
        report = {"violations": dict(self.violations), "samples": self.samples,
                  "delivered": self.delivered, "cut_short": self.cut_short}
        self.violations, self.samples, self.delivered, self.cut_short = Counter(), [], 0, 0
        return report


class AgentProcess:
    """The agent child of this Locust process."""

    def __init__(self, events: Any, relay_url: str, config: dict[str, Any]) -> None:
        self._events = events
        self.ledger = Ledger()
        self._pending: dict[int, AsyncResult] = {}
        self._numbers = itertools.count(1)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "harness.locust.agent"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._send({"op": "config", "relay_url": relay_url, "config": config})
        self._reader = gevent.spawn(self._read)

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(encode(message))
        stdin.flush()

    def call(self, op: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send a request and wait (this greenlet only) for its answer."""
        number = next(self._numbers)
        result: AsyncResult = AsyncResult()
        self._pending[number] = result
        if self._process.poll() is not None:
            raise AgentDied(f"the agent exited with status {self._process.returncode}")
        self._send({"op": op, "id": number, **fields})
        answer: dict[str, Any] = result.get(timeout=timeout)
        return answer

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        fire = self._events.request.fire
        for line in stdout:
            message = decode(line, "agent")
            if "re" in message:
                waiting = self._pending.pop(message["re"], None)
                if waiting is not None:
                    waiting.set(message)
            elif message.get("op") == "records":
                for kind, name, ms, length, error in message["r"]:
                    fire(request_type=kind, name=name, response_time=ms,
                         response_length=length, context={},
                         exception=AgentFailure(error) if error else None)
            elif message.get("op") == "report":
                self.ledger.add(message)
        status = self._process.wait()
        for waiting in self._pending.values():
            waiting.set_exception(AgentDied(f"the agent exited with status {status}"))
        self._pending.clear()

    def close(self, timeout: float = 30.0) -> None:
        """Finish (close every pair, settle the checker), then end the agent."""
        if self._process.poll() is None:
            try:
                self.call("finish", timeout=timeout)
            except (AgentDied, gevent.Timeout) as exc:
                log.warning("the agent did not finish: %s", exc)
            stdin = self._process.stdin
            if stdin is not None:
                stdin.close()
        self._reader.join(timeout=timeout)
        if self._process.poll() is None:
            self._process.kill()
