"""One side of ``harness bench --only clients``, in a process of its own so that its CPU
time is the client's alone.

    python -m harness.bench.client_side --side harness|bare --spec SPEC.json

``harness``: the load worker's path (``WorkerRun``: simulated IDE and drone per pair,
history sink, streaming checker, stats, snapshots). ``bare``: per pair one python-socketio
``AsyncClient`` IDE and one drone doing the same emits and receives with no bookkeeping.
Both connect every pair, open, lock and submit prompts back to back; the drone streams the
same script. CPU time (``time.process_time``) and delivered events are measured between
the ``warmup``-th and the ``warmup + events``-th event an IDE receives; one JSON line on
stdout says what was measured. The spec file holds the pairs' tokens: it is the parent's
temporary file, never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio

from harness.load.actors import script_for
from harness.load.config import LoadConfig, Pair
from harness.load.worker import WorkerArgs, WorkerRun
from harness.protocol import FORWARDED_DRONE_EVENTS, SOCKETIO_PATH, ClientType, Event
from harness.sim.history import Message
from harness.sim.recorder import SinkHistory
from harness.sim.script import StreamScript, stream_events

__all__ = ["SIDES", "ClientSpec", "main"]

SIDES = ("harness", "bare")
_TIMEOUT = 30.0


@dataclass(frozen=True)
class ClientSpec:
    """What one side runs: the relay, the pairs, and the measured window."""

    relay_url: str
    pairs: tuple[Pair, ...]
    warmup: int
    events: int
    events_per_prompt: int
    text_size: int
    rate: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (with the tokens: write it only to a private file)."""
        return {"relayUrl": self.relay_url, "warmup": self.warmup, "events": self.events,
                "eventsPerPrompt": self.events_per_prompt, "textSize": self.text_size,
                "rate": self.rate,
                "pairs": [[p.index, p.user_id, p.chat_session_id, p.registration_id,
                           p.user_token, p.drone_token] for p in self.pairs]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientSpec:
        """The inverse of ``to_json``."""
        return cls(data["relayUrl"], tuple(Pair(*row) for row in data["pairs"]),
                   data["warmup"], data["events"], data["eventsPerPrompt"], data["textSize"],
                   data["rate"])


class _Meter:
    """Counts delivered events; notes CPU and wall time at both ends of the window."""

    def __init__(self, warmup: int, events: int) -> None:
        self.count = 0
        self._start_at, self._end_at = warmup, warmup + events
        self.start: tuple[float, float] | None = None
        self.end: tuple[float, float] | None = None
        self.done = asyncio.Event()
        self.on_done: Callable[[], None] = lambda: None

    def tick(self) -> None:
        self.count += 1
        if self.count == self._start_at:
            self.start = (time.process_time(), time.perf_counter())
        elif self.count == self._end_at:
            self.end = (time.process_time(), time.perf_counter())
            self.done.set()
            self.on_done()

    def result(self) -> dict[str, Any]:
        if self.start is None or self.end is None:
            return {"delivered": 0, "cpuSeconds": 0.0, "wallSeconds": 0.0, "total": self.count}
        return {"delivered": self._end_at - self._start_at,
                "cpuSeconds": self.end[0] - self.start[0],
                "wallSeconds": self.end[1] - self.start[1], "total": self.count}


class _Tap:
    """The worker as recorder, with the meter told of every event an IDE receives."""

    def __init__(self, run: WorkerRun, meter: _Meter) -> None:
        self._run, self._meter = run, meter

    def record_message(self, message: Message) -> None:
        self._run.record_message(message)
        if (message.direction == "received" and message.kind == "ide"
                and message.event in FORWARDED_DRONE_EVENTS):
            self._meter.tick()


async def _harness(spec: ClientSpec, meter: _Meter) -> None:
    config = LoadConfig(drones=len(spec.pairs), workers=1, ramp_up=0.0, duration=None,
                        events=10**12, rate=spec.rate, events_per_prompt=spec.events_per_prompt,
                        text_size=spec.text_size, ack_timeout=_TIMEOUT,
                        completion_timeout=_TIMEOUT)
    run = WorkerRun(WorkerArgs(0, spec.relay_url, config, spec.pairs, len(spec.pairs), None),
                    time.time())
    run.history = SinkHistory(_Tap(run, meter))

    def stop() -> None:
        run.stopped = True

    meter.on_done = stop
    await run.run(lambda snapshot: None, lambda: False)


async def _bare_pair(spec: ClientSpec, pair: Pair, meter: _Meter,
                     script: StreamScript) -> None:
    ide = socketio.AsyncClient(reconnection=False)
    drone = socketio.AsyncClient(reconnection=False)
    completed: asyncio.Queue[str] = asyncio.Queue()
    streams: set[asyncio.Task[None]] = set()

    async def stream(work_order: str, chat: str) -> None:
        for index, (event, payload) in enumerate(stream_events(script, work_order, chat)):
            if index and script.pacing:
                await asyncio.sleep(script.pacing)
            await drone.emit(event, payload)

    def on_prompt(data: dict[str, Any]) -> bool:
        task = asyncio.get_running_loop().create_task(
            stream(data["workOrderId"], data["chatSessionId"]))
        streams.add(task)
        task.add_done_callback(streams.discard)
        return True

    drone.on(Event.REQUEST_SESSION_LOCK, lambda data: True)
    drone.on(Event.SUBMIT_PROMPT, on_prompt)

    def on_event(data: dict[str, Any]) -> None:
        meter.tick()

    def on_complete(data: dict[str, Any]) -> None:
        meter.tick()
        completed.put_nowait(data["workOrderId"])

    for event in FORWARDED_DRONE_EVENTS:
        ide.on(event, on_complete if event == Event.WORK_ORDER_COMPLETE else on_event)
    chat, registration = pair.chat_session_id, pair.registration_id
    await drone.connect(spec.relay_url, auth={"type": ClientType.DRONE, "token": pair.drone_token,
                                              "registrationId": registration},
                        transports=["websocket"], socketio_path=SOCKETIO_PATH,
                        wait_timeout=_TIMEOUT)
    await ide.connect(spec.relay_url, auth={"type": ClientType.CODE, "token": pair.user_token},
                      transports=["websocket"], socketio_path=SOCKETIO_PATH,
                      wait_timeout=_TIMEOUT)
    try:
        await ide.call(Event.OPEN_CHAT_SESSION, {"chatSessionId": chat}, timeout=_TIMEOUT)
        await ide.call(Event.REQUEST_SESSION_LOCK,
                       {"registrationId": registration, "chatSessionId": chat},
                       timeout=_TIMEOUT)
        while not meter.done.is_set():
            answer = await ide.call(Event.SUBMIT_PROMPT, {
                "registrationId": registration, "chatSessionId": chat,
                "prompt": "bench prompt"}, timeout=_TIMEOUT)
            work_order = answer["workOrderId"]
            async with asyncio.timeout(_TIMEOUT):
                while await completed.get() != work_order:
                    pass
    finally:
        for task in list(streams):
            task.cancel()
        await drone.disconnect()
        await ide.disconnect()


async def _bare(spec: ClientSpec, meter: _Meter) -> None:
    script = script_for(spec.events_per_prompt, spec.text_size,
                        1.0 / spec.rate if spec.rate else 0.0)
    await asyncio.gather(*(_bare_pair(spec, pair, meter, script) for pair in spec.pairs))


async def run_side(side: str, spec: ClientSpec) -> dict[str, Any]:
    """Run ``side`` (``harness`` or ``bare``) with ``spec``; the measured window as a dict
    (``delivered``, ``cpuSeconds``, ``wallSeconds``; zeros when it was never reached)."""
    meter = _Meter(spec.warmup, spec.events)
    await (_harness if side == "harness" else _bare)(spec, meter)
    return {"side": side, **meter.result()}


def main(argv: list[str] | None = None) -> None:
    """Run one side and print its measurement as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m harness.bench.client_side")
    parser.add_argument("--side", choices=SIDES, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level="ERROR", stream=sys.stderr)
    spec = ClientSpec.from_json(json.loads(args.spec.read_text(encoding="utf-8")))
    print(json.dumps(asyncio.run(run_side(args.side, spec))), flush=True)


if __name__ == "__main__":
    main()
