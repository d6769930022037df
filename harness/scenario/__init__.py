"""Scenarios: load and validate YAML files, run them against a relay, check the invariants.

    scenarios = load_paths(["scenarios"])          # raises ScenarioError: file:line: step ...
    result = await run_scenario(scenarios[0], env)  # a fresh world, always cleaned up
    print(render_story(result))                     # harness.outcome: results, stories

The format is documented in ``docs/scenarios.md``; its JSON Schema is ``schema.json``.
"""

from harness.scenario.invariants import (
    CheckContext,
    check_history,
    check_leaks,
    check_secrets,
)
from harness.scenario.kinds import STEP_KINDS
from harness.scenario.loader import find_scenario_files, load_file, load_paths
from harness.scenario.matchers import MatchResult, match
from harness.scenario.model import INVARIANTS, ActorSpec, Scenario, Source, Step
from harness.scenario.runner import run_scenario
from harness.scenario.schema import scenario_schema
from harness.scenario.selection import select

__all__ = [
    "INVARIANTS",
    "STEP_KINDS",
    "ActorSpec",
    "CheckContext",
    "MatchResult",
    "Scenario",
    "Source",
    "Step",
    "check_history",
    "check_leaks",
    "check_secrets",
    "find_scenario_files",
    "load_file",
    "load_paths",
    "match",
    "run_scenario",
    "scenario_schema",
    "select",
]
