"""Hand-made scenario results and histories for the report unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.outcome.facts import Fact
from harness.outcome.results import Failure, ScenarioResult, StepResult
from harness.scenario.model import Scenario, Source, Step
from harness.sim.history import Message
from seed.world import WorldSpec

REG = "a" * 24
USER = "b" * 24
WO = "c" * 24
SOURCE = Source(Path("scenarios/x.scenario.yaml"), 3)


class Recorder:
    """Builds a history with explicit times."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def add(self, t: float, actor: str, kind: str, direction: str, event: str,
            payload: Any = None, *, ack: Any = None, **meta: Any) -> Message:
        message = Message(len(self.messages), t, actor, kind, direction, event,  # type: ignore[arg-type]
                          payload, ack, f"sid-{actor}", meta)
        self.messages.append(message)
        return message

    def step(self, t: float, title: str, label: str) -> Message:
        return self.add(t, "harness", "harness", "note", "step", title, label=label)


def stream(t: float, seq: int, event: str = "thinking") -> dict[str, Any]:
    return {"workOrderId": WO, "chatSessionId": "d" * 24, "seq": seq, "text": f"t{t}"}


def make_result(history: list[Message], *, failing: str | None = None,
                message: str = "it broke", kind: str = "expectation",
                facts: tuple[Fact, ...] = ()) -> ScenarioResult:
    """A result with steps taken from the history's step notes; ``failing`` names one."""
    steps: list[StepResult] = []
    notes = [m for m in history if m.direction == "note" and m.event == "step"]
    ends = [n.t - 0.001 for n in notes[1:]] + ([history[-1].t] if notes else [])
    for m, end in zip(notes, ends, strict=True):
        label = m.meta["label"]
        kind_name = str(m.payload).split("(")[1].rstrip(")").split(" ")[0]
        step = Step(kind_name, label, Source(SOURCE.file, 10 + len(steps)), {})
        status = "failed" if failing and step.title == failing else "passed"
        steps.append(StepResult(step, status, started=m.t - history[0].t + 0.5,
                                duration=end - m.t))
    failure = None
    if failing:
        failure = Failure(kind, message, step=failing,  # type: ignore[arg-type]
                          source=SOURCE, facts=facts)
        steps = [StepResult(s.step, s.status, s.started, s.duration,
                            failure if s.status == "failed" else None) for s in steps]
    scenario = Scenario("x", SOURCE, WorldSpec(), (), tuple(s.step for s in steps))
    return ScenarioResult(scenario, status="failed" if failing else "passed", duration=1.5,
                          steps=steps, failure=failure, history=tuple(history),
                          actor_labels={"ide": f"ide ide (user {USER})",
                                        "d0": f"drone d0 ({REG})"},
                          run_id="run-1")
