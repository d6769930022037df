"""``-k`` selection of scenarios, and the text of failure stories."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.outcome.findings import Violation
from harness.outcome.results import Failure, ScenarioResult, StepResult
from harness.outcome.story import render_story, side_by_side
from harness.scenario.loader import load_file
from harness.scenario.matchers import match
from harness.scenario.model import Scenario
from harness.scenario.selection import compile_expression, select
from harness.sim.history import MessageHistory

TEXT = """\
name: {name}
tags: [{tags}]
actors: {{ide: {{ide: {{}}}}}}
steps:
  - connect: ide
  - emit: {{actor: ide, event: openChatSession, ack: {{ok: true}}}}
"""


def scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    for name, tags in (("lock race", "locking, slow"), ("stream order", "delivery"),
                       ("terminate", "termination")):
        out += load_file(Path(f"{name.split()[0]}.scenario.yaml"),
                         TEXT.format(name=name, tags=tags))
    return out


@pytest.mark.parametrize(("expression", "names"), [
    ("", ["lock race", "stream order", "terminate"]),
    ("locking", ["lock race"]),
    ("ORDER", ["stream order"]),
    ("not slow", ["stream order", "terminate"]),
    ("delivery or termination", ["stream order", "terminate"]),
    ("(lock or stream) and not slow", ["stream order"]),
])
def test_select(expression: str, names: list[str]) -> None:
    assert [s.name for s in select(scenarios(), expression)] == names


@pytest.mark.parametrize(("expression", "problem"), [
    ("a and", "-k 'a and': unexpected end of expression"),
    ("(a", "-k '(a': unexpected end of expression"),
    ("a b", "-k 'a b': unexpected 'b'"),
    ("or a", "-k 'or a': unexpected 'or'"),
])
def test_bad_expressions(expression: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_expression(expression)
    assert str(caught.value) == problem


def test_side_by_side_puts_expected_left_and_actual_right() -> None:
    rows = side_by_side({"ok": True}, {"ok": False, "error": "drone-locked"}, width=20)
    assert rows == [
        "expected             | actual",
        "---------------------+---------------------",
        "{                    | {",
        '  "ok": true         |   "error": "drone-locked",',
        '}                    |   "ok": false',
        "                     | }",
    ]


def test_the_story_tells_step_line_problem_comparison_steps_and_last_messages() -> None:
    (scenario,) = load_file(Path("s.scenario.yaml"), TEXT.format(name="n", tags="t"))
    connect, emit = scenario.steps
    history = MessageHistory(clock=iter(float(i) for i in range(100)).__next__)
    history.record("ide", "ide", "connect", "connect", socket_id="S1")
    history.record("ide", "ide", "sent", "openChatSession", {}, socket_id="S1")
    history.record("ide", "ide", "ack", "openChatSession", ack={"ok": False}, socket_id="S1")
    result_of_match = match({"ok": True}, {"ok": False})
    failure = Failure("expectation", "the ack of openChatSession to ide ide did not match",
                      step=emit.title, source=emit.source, compared=True,
                      expected={"ok": True}, actual={"ok": False},
                      mismatches=result_of_match.mismatches, at=2.5)
    result = ScenarioResult(
        scenario, status="failed", duration=1.25,
        steps=[StepResult(connect, "passed", 0.0, 0.5),
               StepResult(emit, "failed", 0.5, 0.25, failure)],
        failure=failure, violations=[Violation("acks", "something unanswered")],
        notes=["leak checks skipped: no admin token"], history=history.messages,
        actor_labels={"ide": "ide ide (user U)"}, logs={"relay": "line 1\nline 2\n"})
    story = render_story(result)
    assert story.splitlines()[:3] == [
        "FAILED s.scenario.yaml::n  (1.25 s)",
        "  at step 2 (emit), s.scenario.yaml:6 at +2.500 s",
        "  the ack of openChatSession to ide ide did not match",
    ]
    for piece in ('  "ok": true', "differences:", "  at ok: expected true, got false",
                  "invariant violations:", "[acks] something unanswered",
                  "leak checks skipped: no admin token", "✓ 1 (connect)", "✗ 2 (emit)",
                  "ide ide (user U):", '+2.000 s  ack openChatSession {"ok": false} [S1]',
                  "relay log (last 2 lines):", "  line 2"):
        assert piece in story, piece
