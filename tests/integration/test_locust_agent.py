"""The Locust agent as its Locust process sees it: a child process on a pipe, against the
shared relay. Two pairs start, run work orders, stop; every ack, delivered event and work
order comes back as a record; the checker reports no violation; a closed pipe ends it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import seeded_world

from harness.env import LocalEnvironment
from harness.load import LoadConfig
from harness.load.config import pairs_of
from harness.load.runner import world_spec
from harness.locust.wire import decode, encode, pair_to_dict
from seed.world import World

pytestmark = [pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def two_pairs(relay_env: LocalEnvironment) -> AsyncIterator[World]:
    """Two (chat session, drone) pairs of one user, removed after the test."""
    async with seeded_world(relay_env, world_spec(LoadConfig(drones=2, drones_per_user=2))) \
            as seeded:
        yield seeded


class AgentPipe:
    """The agent child and what it wrote, by kind."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.answers: dict[int, dict[str, Any]] = {}
        self._answered = asyncio.Event()
        self.records: list[list[Any]] = []
        self.reports: list[dict[str, Any]] = []
        self._next = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = decode(line, "test")
            if "re" in message:
                self.answers[message["re"]] = message
                self._answered.set()
            elif message.get("op") == "records":
                self.records += message["r"]
            elif message.get("op") == "report":
                self.reports.append(message)

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        self._next += 1
        number = self._next
        assert self.process.stdin is not None
        self.process.stdin.write(encode({"op": op, "id": number, **fields}))
        await self.process.stdin.drain()
        async with asyncio.timeout(60):
            while number not in self.answers:
                self._answered.clear()
                await self._answered.wait()
        return self.answers.pop(number)


async def start_agent(relay_url: str) -> AgentPipe:
    """An agent child, configured for 6-event bursts."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "harness.locust.agent", cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(encode({"op": "config", "relay_url": relay_url,
                                "config": {"events_per_prompt": 6, "rate": 0}}))
    return AgentPipe(process)


async def test_the_agent_drives_pairs_and_reports_every_measurement(
        relay_env: LocalEnvironment, two_pairs: World) -> None:
    agent = await start_agent(relay_env.relay_url)
    process = agent.process
    assert process.stdin is not None
    pairs = pairs_of(two_pairs, 2, 2)
    started = await asyncio.gather(*(agent.call("start", user=f"u{p.index}",
                                                pairs=[pair_to_dict(p)]) for p in pairs))
    assert [a["ok"] for a in started] == [True, True], started
    for _ in range(2):
        answers = await asyncio.gather(*(agent.call("prompt", user=f"u{p.index}")
                                         for p in pairs))
        assert all(a["ok"] and a["outcome"] is None for a in answers), answers
    stopped = [await agent.call("stop", user=f"u{p.index}") for p in pairs]
    assert all(a["ok"] for a in stopped), stopped
    assert (await agent.call("finish"))["ok"]
    process.stdin.close()
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await agent._reader

    by_kind: dict[tuple[str, str], int] = {}
    for kind, name, ms, _length, error in agent.records:
        assert error is None, (kind, name, error)
        assert ms >= 0
        by_kind[(kind, name)] = by_kind.get((kind, name), 0) + 1
    assert by_kind[("workOrder", "workOrderComplete")] == 4
    assert by_kind[("event", "workOrderComplete")] == 4
    streamed = sum(n for (kind, name), n in by_kind.items()
                   if kind == "event" and name != "workOrderComplete")
    assert streamed == 4 * 6
    assert by_kind[("ack", "openChatSession")] == 2
    assert by_kind[("ack", "requestSessionLock")] == 2
    assert by_kind[("ack", "submitPrompt")] == 4
    assert by_kind[("connect", "connect")] == 4
    assert all(length == 64 for kind, name, _, length, _ in agent.records
               if kind == "event" and name in ("thinking", "response", "toolCall"))
    assert sum(r["delivered"] for r in agent.reports) == 4 * 7
    assert all(r["violations"] == {} for r in agent.reports)


async def test_a_watching_ide_is_owed_every_event_of_each_chat_session(
        relay_env: LocalEnvironment, two_pairs: World) -> None:
    agent = await start_agent(relay_env.relay_url)
    process = agent.process
    assert process.stdin is not None
    pairs = pairs_of(two_pairs, 2, 2)  # two chat sessions and drones of one user
    started = await agent.call("start", user="w", watcher=True,
                               pairs=[pair_to_dict(p) for p in pairs])
    assert started["ok"], started
    answer = await agent.call("prompt", user="w")
    assert answer["ok"] and answer["outcome"] is None, answer
    assert (await agent.call("stop", user="w"))["ok"]
    assert (await agent.call("finish"))["ok"]
    process.stdin.close()
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await agent._reader

    events = [r for r in agent.records if r[0] == "event"]
    assert len(events) == 2 * 7 * 2  # two work orders of 7 events, each to two IDEs
    assert [r[1] for r in agent.records if r[0] == "ack"].count("openChatSession") == 2 + 2
    assert sum(r["delivered"] for r in agent.reports) == 2 * 7 * 2
    assert all(r["violations"] == {} for r in agent.reports)
