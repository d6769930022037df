"""``use``: run a step group (a file of steps with parameters, ``<name>.steps.yaml``) in
place, its parameters given by ``with``. The loader reads the group, substitutes the
parameters and checks its steps like steps written in place (``harness.scenario.stepgroups``);
the runner runs them in order, as a ``sequence``."""

from __future__ import annotations

from dataclasses import dataclass

from harness.scenario.kinds.base import StepKind
from harness.scenario.kinds.groups import sequence


@dataclass(frozen=True)
class UseArgs:
    """The group's name as written."""

    group: str


KINDS = (
    StepKind(
        name="use", order=12,
        summary="Run a step group from its own file, with parameters.",
        schema={"type": "string", "pattern": "^[A-Za-z0-9_./-]+$",
                "description": "A step group: NAME (steps/NAME.steps.yaml in this folder or "
                               "the nearest parent that has it) or a relative path to a "
                               "*.steps.yaml file; parameters in `with`."},
        reference="`use: <group>` with `with: {param: value}`: the steps of "
                  "`steps/<group>.steps.yaml` (found in the scenario's folder or the nearest "
                  "parent that has it), parameters substituted, run in order; see \"Step "
                  "groups\"",
        args=UseArgs, group=sequence, include=True),
)
