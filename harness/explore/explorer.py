"""Run an exploration: start the environment, let Hypothesis drive the state machine within a
budget, and turn a failure, shrunk, into a scenario file that ``harness run`` reproduces.

    report = explore(env, ExploreOptions(budget=60, seed=1))
    report.finding          # None: nothing found; else the scenario written and its replay
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition
from hypothesis.stateful import run_state_machine_as_test

from harness.env.base import Environment
from harness.errors import ConfigError, EnvError
from harness.explore.live import ExplorerStopped, compile_program
from harness.explore.loop import LoopThread
from harness.explore.machine import ExploreMachine
from harness.explore.program import Program
from harness.explore.session import ExploreFailure, Session, StopExploring
from harness.outcome.results import Failure, ScenarioResult
from harness.scenario.loader import load_file
from harness.scenario.runner import run_scenario

log = logging.getLogger(__name__)

DEFAULT_OUT = Path(".harness/explore")
DATABASE_DIR = "examples"  # under the out folder: Hypothesis's example database
MAX_EXAMPLES = 1_000_000  # a time budget ends the run; this only bounds it

RELAY_TIMEOUTS: Final = {"drone_ack_timeout": 1.0, "termination_ack_timeout": 1.0,
                         "termination_poll_timeout": 3.0}
"""The timeouts of a reference relay the explorer starts (``--env local``/``compose``,
unless stated): shorter than the contract's 5, 5 and 10 s, so that an example that waits
one out costs a second, not five. The relay's heartbeat (2 s + 3 s) still outlasts the 3 s
termination poll, as socket.io's 45 s outlasts the contract's 10 s."""


@dataclass(frozen=True)
class ExploreOptions:
    """What ``harness explore`` takes. ``budget`` in seconds and/or ``examples``: whichever
    is spent first ends the search (shrinking a failure has ``shrink_budget`` more).
    ``database`` False leaves Hypothesis's example database out (the selftest, which
    measures the time to a first failure from nothing)."""

    budget: float | None = 60.0
    examples: int | None = None
    seed: int | None = None
    max_steps: int = 12
    out: Path = DEFAULT_OUT
    database: bool = True
    shrink_budget: float = 120.0
    faults: bool = True
    restart: bool | None = None  # None: where the environment can restart the relay

    def __post_init__(self) -> None:
        if self.budget is None and self.examples is None:
            raise ConfigError("--budget: give seconds (60s) or a number of examples (200)")
        if self.budget is not None and self.budget <= 0:
            raise ConfigError(f"--budget: expected seconds > 0, got {self.budget:g}")
        if self.examples is not None and self.examples < 1:
            raise ConfigError(f"--budget: expected at least 1 example, got {self.examples}")
        if not 1 <= self.max_steps <= 100:
            raise ConfigError(f"--max-steps: expected 1 to 100, got {self.max_steps}")


@dataclass
class Finding:
    """A failure, shrunk: the scenario written, and what it showed."""

    file: Path
    failure: Failure
    expectation: str
    actions: int
    steps: int
    first_failure_after: float
    first_failure_example: int = 0  # 1: the first example failed (a stored one, say)
    flaky: bool = False  # Hypothesis's final replay did not fail the same way
    replay: ScenarioResult | None = None  # ``harness run`` of the written file

    @property
    def reproduced(self) -> bool:
        """True when running the written file failed as well."""
        return self.replay is not None and not self.replay.passed


@dataclass
class ExploreReport:
    """What an exploration did and found."""

    examples: int = 0
    steps: int = 0
    duration: float = 0.0
    seed: int | None = None
    finding: Finding | None = None
    env: str = ""
    results: list[ScenarioResult] = field(default_factory=list)


OnExample = Callable[[Session, str, float, int], None]


def explore(env: Environment, options: ExploreOptions, *,
            on_example: OnExample | None = None, title: str = "harness explore"
            ) -> ExploreReport:
    """Start ``env``, explore, write a finding, replay it, stop ``env``."""
    report = ExploreReport(seed=options.seed)
    began = time.monotonic()
    with LoopThread() as loop:
        loop.call(env.start())
        try:
            report.env = env.describe()
            _search(env, options, loop, report, on_example, title)
        finally:
            loop.call(env.stop())
    report.duration = time.monotonic() - began
    return report


def _search(env: Environment, options: ExploreOptions, loop: LoopThread,
            report: ExploreReport, on_example: OnExample | None, title: str) -> None:
    options.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    file = options.out / f"finding-{stamp}.scenario.yaml"
    budget = options.budget if options.budget is not None else float("inf")
    session = Session(loop=loop, env=env, reference=env.reference_relay,
                      faults=options.faults,
                      # What a relay does across its own restart is the reference
                      # relay's decision (the contract is silent): only there.
                      restart=env.supports_restart and env.reference_relay
                      and options.restart is not False,
                      timeouts=env.relay_timeouts, file=file,
                      deadline=time.monotonic() + budget,
                      shrink_budget=options.shrink_budget, on_example=on_example)
    machine = type("ExploreMachine", (ExploreMachine,), {"session": session})
    if options.seed is not None:
        machine = hypothesis_seed(options.seed)(machine)
    database = (DirectoryBasedExampleDatabase(str(options.out / DATABASE_DIR))
                if options.database else None)
    chosen = settings(
        max_examples=options.examples or MAX_EXAMPLES,
        stateful_step_count=options.max_steps,
        deadline=None,
        database=database,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )
    failure: ExploreFailure | None = None
    flaky = False
    try:
        run_state_machine_as_test(machine, settings=chosen)
    except StopExploring:
        failure = session.smallest  # None: the search's budget ran out
    except ExplorerStopped as exc:
        raise EnvError(f"explore stopped: {exc.message}") from None
    except ExploreFailure as exc:
        failure = exc
    except (FlakyFailure, FlakyStrategyDefinition):
        # The relay answered the same actions differently on a replay (timing): the
        # smallest failing example seen is the finding.
        flaky = True
        failure = session.smallest
        if failure is None:
            raise
    report.examples, report.steps = session.examples, session.steps
    if failure is None:
        return
    finding = _write(failure, file, options, session, flaky, title)
    report.finding = finding
    (scenario,) = load_file(finding.file)
    finding.replay = loop.call(run_scenario(scenario, env))
    report.results.append(finding.replay)


def _write(failure: ExploreFailure, file: Path, options: ExploreOptions, session: Session,
           flaky: bool, title: str) -> Finding:
    program: Program = failure.program
    seed = f"--seed {options.seed}" if options.seed is not None else "no --seed"
    program.name = f"found by harness explore: {failure.failure.kind} in action " \
                   f"{len(program.actions)}"
    program.header = [
        f"Found by `{title}` ({seed}) against {session.env.describe()},",
        f"shrunk by Hypothesis to {len(program.actions)} actions "
        f"({program.step_count} steps); reproduce with: harness run {file}",
        "",
        "The model of the contract expected: " + failure.expectation,
        "The relay did: " + _one_line(failure.failure.message),
    ]
    if session.shrink_stopped:
        program.header.append(f"Shrinking stopped at its budget ({options.shrink_budget:g} s): "
                              "this is the smallest failing example seen.")
    elif flaky:
        program.header.append("Shrinking stopped early: the relay answered a replayed example "
                              "differently from its first run (timing); this is the smallest "
                              "failing example seen.")
    text = program.render(prune=True)
    compile_program(file, text)  # the file loads as written
    file.write_text(text)
    return Finding(file, failure.failure, failure.expectation, len(program.actions),
                   program.step_count, session.first_failure_after or 0.0,
                   session.first_failure_example or 0, flaky)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
