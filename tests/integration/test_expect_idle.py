"""``expect`` with ``idle_timeout`` against the reference relay: a stream that keeps coming is
waited for past the idle time (a slow relay is not a broken one), a stream that stops fails
after the idle time, long before the ceiling, and the ceiling still holds."""

from __future__ import annotations

import re
from pathlib import Path

from harness.env import LocalEnvironment
from harness.outcome import render_story
from harness.scenario import load_file, run_scenario
from harness.scenario.model import Scenario

STREAM = """\
name: paced stream
world: {{drones_per_user: 1}}
actors:
  ide: {{ide: {{user: 0}}}}
  d0:
    drone: 0
    behaviour:
      script: {{thinking: {events}, responses: 0, pacing: {pacing}, final_status: {final}}}
steps:
  - connect: [d0, ide]
  - use: open-lock-submit
    with: {{ide: ide, drone: d0, prompt: go, capture: wo}}
  - expect:
      actor: ide
      event: workOrderComplete
      payload: {{workOrderId: "${{capture.wo}}"}}
      timeout: {timeout}
      idle_timeout: {idle}
"""


def paced(*, events: int, pacing: float, final: str = "complete", timeout: float,
          idle: float) -> Scenario:
    text = STREAM.format(events=events, pacing=pacing, final=final, timeout=timeout,
                         idle=idle)
    groups = Path(__file__).resolve().parents[2] / "scenarios" / "inline.scenario.yaml"
    (scenario,) = load_file(groups, text)
    return scenario


async def test_a_steady_stream_is_waited_for_past_the_idle_time(
        relay_env: LocalEnvironment) -> None:
    # 12 events 0.25 s apart: about 3 s, three times the idle time.
    result = await run_scenario(paced(events=12, pacing=0.25, timeout=30, idle=1), relay_env)
    assert result.passed, render_story(result)
    received = [m for m in result.history if m.actor == "ide" and m.event == "thinking"]
    assert received[-1].t - received[0].t > 2.0


async def test_a_stream_that_stops_fails_after_the_idle_time(
        relay_env: LocalEnvironment) -> None:
    # Four events, then the drone never completes: the step fails about 1 s after the last
    # event, not at the 30 s ceiling.
    result = await run_scenario(
        paced(events=4, pacing=0.1, final="null", timeout=30, idle=1), relay_env)
    assert result.status == "failed"
    assert result.failure is not None
    message = result.failure.message
    assert message.startswith("workOrderComplete never reached ide ide"), message
    assert re.search(r" within 1\.\d s, then nothing arrived for 1 s; \d+ other event\(s\) "
                     r"arrived instead$", message), message
    expect_step = result.steps[-1]
    assert expect_step.status == "failed"
    assert 1.0 <= expect_step.duration < 5.0


async def test_the_ceiling_holds_while_events_keep_arriving(
        relay_env: LocalEnvironment) -> None:
    # 40 events 0.2 s apart (8 s) never leave the IDE idle for 1 s, but the ceiling is 2 s.
    result = await run_scenario(paced(events=40, pacing=0.2, timeout=2, idle=1), relay_env)
    assert result.status == "failed"
    assert result.failure is not None
    assert "workOrderComplete never reached ide ide" in result.failure.message
    assert " within 2 s; " in result.failure.message
    assert "nothing arrived for" not in result.failure.message
