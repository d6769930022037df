"""Every step kind, collected from the modules of this package.

A module here that defines ``KINDS`` (a tuple of ``StepKind``) adds those kinds to the
scenario language: the loader, the schema, the runner and the format reference all read
``REGISTRY``. ``schema.json`` and the step table of ``docs/scenarios.md`` are generated
from it (``python -m harness.scenario.kinds`` writes both; a test fails when they are
stale).
"""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

from harness.scenario.kinds.base import StepKind

__all__ = ["GROUP_KINDS", "REGISTRY", "STEP_KINDS", "StepKind", "build_schema",
           "reference_table"]


def _collect() -> dict[str, StepKind]:
    found: dict[str, StepKind] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "base" or module.name.startswith("_"):
            continue
        kinds = getattr(importlib.import_module(f"{__name__}.{module.name}"), "KINDS", ())
        for kind in kinds:
            if kind.name in found:
                raise RuntimeError(f"step kind {kind.name!r} is defined twice "
                                   f"(harness/scenario/kinds/{module.name}.py)")
            found[kind.name] = kind
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


REGISTRY: Final[Mapping[str, StepKind]] = _collect()
STEP_KINDS: Final[tuple[str, ...]] = tuple(REGISTRY)
"""Every step kind, in the order the format reference lists them."""
GROUP_KINDS: Final[tuple[str, ...]] = tuple(k.name for k in REGISTRY.values() if k.group)
"""Step kinds whose argument is a list of steps."""


def build_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario document: ``schema_base.json`` and every kind's."""
    text = resources.files("harness.scenario").joinpath("schema_base.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    step = schema["$defs"]["step"]
    step.pop("$comment", None)
    for kind in REGISTRY.values():
        step["properties"][kind.name] = copy.deepcopy(dict(kind.schema))
    step["oneOf"] = [{"required": [name]} for name in REGISTRY]
    return schema


def reference_table() -> str:
    """The step table of the format reference (markdown)."""
    rows = ["| step | arguments |", "| --- | --- |"]
    rows += [f"| `{kind.name}` | {kind.reference} |" for kind in REGISTRY.values()]
    return "\n".join(rows) + "\n"
