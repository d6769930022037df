"""``fault`` steps end to end: inline scenarios against the reference relay, each action
shown to act on the actors' real connections through their fault proxies."""

from __future__ import annotations

import dataclasses
import gc
import textwrap
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST_SETTINGS

from harness.env import LocalEnvironment
from harness.faults import FaultNote
from harness.outcome import render_story
from harness.outcome.results import ScenarioResult
from harness.scenario import load_file, run_scenario
from harness.scenario import runner as runner_module
from harness.scenario.network import Network
from harness.sim import Message

# A quick heartbeat, so that the relay notices a silent link in about a second.
HEARTBEAT = {"ping_interval": 0.4, "ping_timeout": 0.8}

INLINE = Path(__file__).resolve().parents[2] / "scenarios" / "fault-steps.scenario.yaml"
"""Where the inline scenarios say they are: ``use`` finds the pack's step groups from there
(nothing is written)."""
ACTORS = """\
name: faults
world: {{drones_per_user: 1}}
actors:
  ide: {{ide: {{user: 0}}, reconnect: false}}
  d0: {drone}
steps:
"""
ONLINE = """\
        - connect: d0
        - wait_until: {db: {registration: "${d0.id}", status: online}}
"""  # indented as the steps that follow it
OPEN = ('{actor: ide, event: openChatSession, payload: {chatSessionId: '
        '"${chat_sessions[0].id}"}, ack: {ok: true}}')


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[LocalEnvironment]:
    async with LocalEnvironment(dataclasses.replace(FAST_SETTINGS, **HEARTBEAT)) as started:
        yield started


async def run(env: LocalEnvironment, steps: str, *, transport: str = "websocket",
              drone: str | None = None) -> ScenarioResult:
    # Nobody reconnects by themselves here: each test reads the state a fault leaves.
    drone = drone or f"{{drone: 0, transport: {transport}, reconnect: false}}"
    text = ACTORS.format(drone=drone) + textwrap.indent(textwrap.dedent(steps), "  ")
    (scenario,) = load_file(INLINE, text)
    return await run_scenario(scenario, env)


def notes(result: ScenarioResult) -> list[tuple[Message, FaultNote]]:
    found = []
    for message in result.history:
        note = FaultNote.from_json(message.payload) if message.event == "fault" else None
        if message.kind == "harness" and note is not None:
            found.append((message, note))
    return found


def acks(result: ScenarioResult, event: str = "openChatSession") -> list[Message]:
    return [m for m in result.history
            if m.actor == "ide" and m.direction == "ack" and m.event == event]


async def test_a_scenario_without_fault_steps_runs_with_no_proxy(
        env: LocalEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[Network] = []
    original = Network.open

    async def spy(scenario: Any, relay_url: str) -> Network:
        network = await original(scenario, relay_url)
        opened.append(network)
        return network

    monkeypatch.setattr(runner_module.Network, "open", spy)
    plain = await run(env, "- connect: [d0, ide]\n")
    assert plain.passed, render_story(plain)
    assert opened == []
    faulty = await run(env, "- connect: [d0, ide]\n- fault: {actor: d0, cut: true}\n")
    assert faulty.passed, render_story(faulty)
    (network,) = opened
    assert sorted(network.proxies) == ["d0", "ide"]  # socket actors only
    assert network.upstream[1] == int(env.relay_url.rsplit(":", 1)[1])
    assert all(proxy.connections == () for proxy in network.proxies.values())  # closed


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_cut_disconnects_the_drone_and_the_relay_marks_it_offline(
        env: LocalEnvironment, transport: str) -> None:
    result = await run(env, ONLINE + """\
        - fault: {actor: d0, cut: true}
        - wait_until: {disconnected: d0}
        - wait_until: {db: {registration: "${d0.id}", status: offline}, timeout: 5}
        """, transport=transport)
    assert result.passed, render_story(result)
    ((message, note),) = notes(result)
    assert note.actors == ("d0",) and note.action == "cut"
    assert note.effect["connections"] >= 1
    assert note.describe().startswith("⚡ d0: cut (")
    gone = [m for m in result.history if m.actor == "d0" and m.direction == "disconnect"]
    assert gone and gone[0].seq > message.seq
    assert gone[0].meta["reason"] != "client"  # the network dropped it, not a goodbye


async def test_a_blackholed_drone_is_declared_offline_at_the_heartbeat(
        env: LocalEnvironment) -> None:
    result = await run(env, ONLINE + """\
        - fault: {actor: d0, toxic: timeout, ms: 0}
        - wait_until: {db: {registration: "${d0.id}", status: offline}, timeout: 6}
        """)
    # harness/sim leaves the aiohttp connection of a websocket that the relay dropped at its
    # ping timeout unclosed; collected here, so its ResourceWarning does not land in a later
    # test (left to harness/sim, which another branch is changing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert result.passed, render_story(result)
    ((_, note),) = notes(result)
    assert note.params["names"] == ["timeout_upstream", "timeout_downstream"]
    assert note.describe() == "⚡ d0 link: blackhole (timeout 0) both ways"
    offline = result.steps[3]
    # not at once: the connection stays open, only the missing heartbeat gives it away
    assert offline.duration >= HEARTBEAT["ping_timeout"] * 0.5


async def test_a_blackhole_is_needed_for_the_relay_to_mark_a_drone_offline(
        env: LocalEnvironment) -> None:
    result = await run(env, ONLINE + """\
        - fault: {actor: d0, toxic: latency, ms: 10}
        - wait_until: {db: {registration: "${d0.id}", status: offline}, timeout: 2}
        """)
    assert result.status == "failed"  # the control: a live link keeps the drone online
    assert result.failure is not None and result.failure.step == "step 4 (wait_until)"
    assert "has status 'online', expected \"offline\"" in result.failure.message


async def test_latency_delays_deliveries_keeps_their_order_and_remove_withdraws_it() -> None:
    # The relay's own heartbeat (2 s + 3 s), not the module's quick one: 300 +/- 100 ms on
    # every frame to the IDE, pings included, came too near its 0.8 s ping timeout, and the
    # relay dropped the IDE on a loaded machine.
    async with LocalEnvironment(FAST_SETTINGS) as env:
        result = await run(env, f"""\
        - connect: [d0, ide]
        - emit: {OPEN}
        - fault: {{actor: ide, toxic: latency, ms: 300, jitter_ms: 100, direction: downstream}}
        - emit: {OPEN}
        - use: open-lock-submit
          with: {{ide: ide, drone: d0}}
        - expect: {{actor: ide, event: workOrderComplete, timeout: 10}}
        - fault: {{actor: ide, remove: latency}}
        - expect_nothing: {{actor: ide, for: 0.5}}  # chunks delayed before the removal pass
        - emit: {OPEN}
        """, drone="{drone: 0, reconnect: false,"
                   " behaviour: {script: {thinking: 20, pacing: 0.005}}}")
    assert result.passed, render_story(result)
    before, slow, *_, after = acks(result)
    assert before.meta["rtt"] < 0.2 and after.meta["rtt"] < 0.2
    assert slow.meta["rtt"] >= 0.2
    def streamed(actor: str, direction: str) -> list[Message]:
        return [m for m in result.history if m.actor == actor and m.direction == direction
                and isinstance(m.payload, dict) and "seq" in m.payload]

    sent = {m.payload["seq"]: m for m in streamed("d0", "sent")}
    received = streamed("ide", "received")
    assert len(sent) > 20
    assert [m.payload["seq"] for m in received] == sorted(sent)  # jitter kept the order
    assert all(m.t - sent[m.payload["seq"]].t >= 0.2 for m in received)  # 300 ms +/- 100
    (_, added), (_, removed) = notes(result)
    assert added.describe() == "⚡ ide link: latency 300±100 ms downstream"
    assert removed.params["removed"] == [["latency_downstream"]]


@pytest.mark.parametrize(("hold", "release", "shown"), [
    ("{partition: [ide], name: split}", "{heal: split}", "⚡ heal split (ide): "),
    ("{actor: ide, stall: downstream}", "{actor: ide, resume: downstream}",
     "⚡ ide link: resume downstream: "),
])
async def test_held_bytes_are_delivered_when_released(
        env: LocalEnvironment, hold: str, release: str, shown: str) -> None:
    result = await run(env, f"""\
        - connect: ide
        - fault: {hold}
        - parallel:
            - emit: {OPEN[:-1]}, timeout: 5}}
            - sequence:
                - expect_nothing: {{actor: ide, for: 0.3}}
                - fault: {release}
        """)
    assert result.passed, render_story(result)
    (ack,) = acks(result)
    assert ack.meta["rtt"] >= 0.3  # held until the release, then delivered
    (_, held), (_, released) = notes(result)
    assert held.action in ("partition", "stall")
    assert released.effect["released"] > 0  # the ack (or the emit) waited in the proxy
    assert released.describe().startswith(shown) and "held, released" in released.describe()


async def test_refuse_makes_a_connect_fail_until_withdrawn(env: LocalEnvironment) -> None:
    refused = await run(env, """\
        - fault: {actor: d0, refuse: true}
        - connect: {actor: d0, timeout: 2}
        """)
    assert refused.status == "failed", render_story(refused)
    assert refused.failure is not None and refused.failure.step == "step 2 (connect)"
    assert "cannot reach the relay" in refused.failure.message
    again = await run(env, """\
        - fault: {actor: d0, refuse: true}
        - fault: {actor: d0, refuse: false}
        - connect: d0
        """)
    assert again.passed, render_story(again)
    assert [n.describe() for _, n in notes(again)] == [
        "⚡ d0: refuse new connections", "⚡ d0: accept new connections again"]


@pytest.mark.parametrize("toxic", [
    "{toxic: reset_peer, ms: 0}",
    "{toxic: timeout, ms: 100}",
    "{toxic: limit_data, bytes: 0, direction: upstream}",
])
async def test_toxics_that_end_a_connection_disconnect_the_drone(
        env: LocalEnvironment, toxic: str) -> None:
    result = await run(env, f"""\
        - connect: d0
        - fault: {{actor: d0, {toxic[1:]}
        - wait_until: {{disconnected: d0, timeout: 3}}
        """)
    assert result.passed, render_story(result)


async def test_clear_and_connections_wait_for_the_link(env: LocalEnvironment) -> None:
    result = await run(env, f"""\
        - fault: {{actor: ide, connections: 0}}
        - connect: ide
        - fault: {{actor: ide, connections: 1}}
        - fault: {{actor: ide, toxic: slicer, average_size: 8, size_variation: 2}}
        - fault: {{actor: ide, toxic: bandwidth, kb_per_s: 64, direction: upstream}}
        - fault: {{actor: ide, toxic: slow_close, ms: 50}}
        - emit: {OPEN}
        - fault: {{actor: ide, clear: true}}
        - fault: {{actor: ide, connections: 2, timeout: 0.3}}
        """)
    assert result.status == "failed"
    assert result.failure is not None and result.failure.kind == "timeout"
    assert "carried 1 live connection(s), not 2, after 0.3 s" in result.failure.message
    cleared = notes(result)[-1][1]
    assert cleared.action == "clear"
    assert "slicer_downstream" in cleared.params["names"]
    assert "bandwidth_upstream" in cleared.params["names"]
    assert len(cleared.params["names"]) == 5


async def test_a_drone_that_says_goodbye_mid_stream_sends_nothing_after_it(
        env: LocalEnvironment) -> None:
    # The goodbye queues its DISCONNECT, then waits for the send queue to drain; a stream
    # whose next tick was due ran in that wait and emitted behind the DISCONNECT, and the
    # relay (rightly) dropped what came after it (the pack's disconnect-mid-stream failed
    # so under load). socket.io-client sends nothing after disconnect(): neither does the
    # simulated drone, and all it sent before is delivered (the invariants say so).
    result = await run(env, """\
    - connect: [d0, ide]
    - use: open-lock-submit
      with: {ide: ide, drone: d0}
    - expect: {actor: ide, event: thinking, payload: {seq: 3}}
    - disconnect: d0
    - expect: {actor: ide, event: droneStatus, payload: {status: offline}}
    """, drone="{drone: 0, reconnect: false, transport: polling,"
               " behaviour: {script: {thinking: 5000, text_size: 50, pacing: 0.0002}}}")
    assert result.passed, render_story(result)
    goodbye = next(m.seq for m in result.history
                   if m.actor == "d0" and m.event == "stream-cancelled")
    late = [m for m in result.history if m.actor == "d0" and m.direction == "sent"
            and m.seq > goodbye]
    assert late == []
