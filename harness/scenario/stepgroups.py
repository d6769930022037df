"""Step groups: steps kept in a file of their own and used, with parameters, by scenarios.

    # scenarios/steps/open-lock-submit.steps.yaml
    description: The IDE opens its chat session, locks the drone and submits a prompt.
    params:
      ide: {actor: ide}
      drone: {actor: drone}
      prompt: {default: hello}
    steps:
      - emit: {actor: "${ide}", event: openChatSession, ...}

    # in a scenario
    - use: open-lock-submit
      with: {ide: ide, drone: d0}

``use: NAME`` finds ``steps/NAME.steps.yaml`` (or ``NAME.steps.yaml``) in the scenario's
folder or the nearest parent folder that has it; ``use: ./path.steps.yaml`` names a file
relative to the using file. Parameters are substituted when the scenario loads:
``${ide}`` becomes the argument (an actor name, or any value) and ``${drone.id}`` becomes
``${d0.id}``, so everything after substitution is checked like steps written in place, and
errors name the group file's line and where it was used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError
from harness.scenario.templating import REFERENCE, ROOT_NAME, as_text
from harness.yamlsrc import Document, read_documents

SUFFIX = ".steps.yaml"


@dataclass(frozen=True)
class Param:
    """One parameter: an actor of a role (``actor``), or a value with a ``default``."""

    name: str
    actor: str | None
    default: Any
    required: bool


@dataclass(frozen=True)
class StepGroup:
    """A step group file, read and checked against the group schema by the loader."""

    name: str
    doc: Document

    @property
    def params(self) -> dict[str, Param]:
        """The declared parameters, by name."""
        declared = self.doc.data.get("params", {}) if isinstance(self.doc.data, dict) else {}
        return {name: Param(name, body.get("actor"), body.get("default"),
                            "default" not in body)
                for name, body in declared.items()}

    def instantiate(self, args: Mapping[str, Any]) -> Document:
        """The group's document with ``args`` substituted into every string."""
        data = substitute(self.doc.data, args)
        return Document(self.doc.file, data, self.doc.lines, self.doc.line)


def find_group(name: str, used_in: Path) -> Path:
    """The file of step group ``name`` used in ``used_in``; raises ``ScenarioError``
    (one line, the places looked at) when there is none."""
    start = used_in.parent
    if "/" in name or name.endswith(SUFFIX):
        path = start / name
        if path.is_file():
            return path
        raise ScenarioError(f"no step group file {path}")
    looked: list[str] = []
    folder = start.resolve()
    while True:
        for candidate in (folder / "steps" / f"{name}{SUFFIX}", folder / f"{name}{SUFFIX}"):
            if candidate.is_file():
                return candidate
            looked.append(str(candidate.parent))
        if folder.parent == folder:
            break
        folder = folder.parent
    shown = ", ".join(dict.fromkeys(looked[:6]))
    raise ScenarioError(f"no step group {name!r}: looked for {name}{SUFFIX} in {shown}"
                        + (" and above" if len(looked) > 6 else ""))


def read_group(name: str, path: Path) -> StepGroup:
    """The step group in ``path`` (exactly one YAML document)."""
    documents = read_documents(path)
    if len(documents) != 1:
        raise ScenarioError(f"{path}:1: a step group file holds exactly one document, "
                            f"not {len(documents)}")
    return StepGroup(name, documents[0])


def substitute(value: Any, args: Mapping[str, Any]) -> Any:
    """``value`` with ``${param}`` and ``${param.field}`` of ``args`` replaced (strings,
    deeply; mapping keys untouched). A string that is exactly ``${param}`` takes the
    argument's value and type."""
    if isinstance(value, str):
        return _substitute_text(value, args)
    if isinstance(value, list):
        return [substitute(item, args) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, args) for key, item in value.items()}
    return value


def _substitute_text(text: str, args: Mapping[str, Any]) -> Any:
    whole = REFERENCE.fullmatch(text)
    if whole is not None:
        name, rest = _split(whole.group(1))
        if name in args and not rest:
            return args[name]

    def replace(found: re.Match[str]) -> str:
        name, rest = _split(found.group(1))
        if name not in args:
            return found.group(0)
        value = args[name]
        if not rest:
            return value if isinstance(value, str) else as_text(value)
        if isinstance(value, str) and ROOT_NAME.fullmatch(value):
            return f"${{{value}{rest}}}"  # an actor's field: ${drone.id} -> ${d0.id}
        if isinstance(value, str) and REFERENCE.fullmatch(value):
            return f"{value[:-1]}{rest}}}"  # a reference's field: ${ref}.x -> ${ref.x}
        return found.group(0)  # left for the reference check to report

    return REFERENCE.sub(replace, text)


def _split(expr: str) -> tuple[str, str]:
    """``drone.user.id`` -> ``("drone", ".user.id")``; ``("", ...)`` when it has no root."""
    expr = expr.strip()
    root = ROOT_NAME.match(expr)
    return ("", expr) if root is None else (root.group(0), expr[root.end():])
