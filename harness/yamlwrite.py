"""Scenario files written by the harness (``harness explore``'s findings, ``harness scenario
from-trace``'s replays): values and steps as short YAML a person reads, one step per line
where it fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

__all__ = ["flow", "step_line"]

STEP_WIDTH = 96
"""A step longer than this is written with its arguments one per line."""


class _Dumper(yaml.SafeDumper):
    """Writes a value used twice (one matcher in both branches of a race) out twice, not as
    an anchor and an alias: a person reads each step on its own."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def flow(value: Any) -> str:
    """``value`` as one line of flow-style YAML (quoted where YAML needs it)."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, sort_keys=False,
                     width=10_000, allow_unicode=True)
    return text.removesuffix("...\n").strip()  # a plain scalar ends its document


def step_line(step: Mapping[str, Any], indent: str = "  ") -> str:
    """One step of a ``steps:`` list: ``- {kind: args}`` on one line when it fits, else its
    kind on one line and its arguments below, one per line."""
    text = flow(dict(step))
    if len(text) <= STEP_WIDTH:
        return f"{indent}- {text}"
    (kind, args), = step.items()
    if not isinstance(args, Mapping):
        return f"{indent}- {text}"
    lines = [f"{indent}- {kind}:"]
    for key, value in args.items():
        text = flow(value)
        if isinstance(value, list) and len(text) > STEP_WIDTH:  # a long list: an item a line
            lines.append(f"{indent}    {key}:")
            lines += [f"{indent}      - {flow(item)}" for item in value]
        else:
            lines.append(f"{indent}    {key}: {text}")
    return "\n".join(lines)
