"""World specs: counts from CLI flags or a JSON/YAML file, checked field by field."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from harness.errors import SpecError
from seed.world import SPEC_KEYS, WorldSpec


def spec_to_dict(spec: WorldSpec) -> dict[str, int]:
    """The spec with its file keys (``users``, ``providersPerUser``, ...)."""
    return {key: getattr(spec, attr) for attr, (key, _, _) in SPEC_KEYS.items()}


def spec_from_dict(data: object, *, source: str = "spec") -> WorldSpec:
    """A ``WorldSpec`` from a mapping keyed by file keys (camelCase or snake_case).

    Missing keys keep their defaults. Raises ``SpecError`` naming ``source`` and the key.
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"{source}: must be an object of counts, got {type(data).__name__}")
    by_key = {key: attr for attr, (key, _, _) in SPEC_KEYS.items()}
    by_key.update({attr: attr for attr in SPEC_KEYS})
    values: dict[str, Any] = {}
    for key, value in data.items():
        attr = by_key.get(str(key))
        if attr is None:
            known = ", ".join(key for key, _, _ in SPEC_KEYS.values())
            raise SpecError(f"{source}: unknown field {key!r}; known fields: {known}")
        values[attr] = value
    try:
        return WorldSpec(**values)
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from None


def load_spec_file(path: str | os.PathLike[str]) -> WorldSpec:
    """Read a spec from a ``.json`` file, or YAML for any other name.

    Raises ``SpecError`` naming the file and the line or field.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{file}: cannot read: {exc.strerror or exc}") from None
    data: object
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "cannot parse"
            raise SpecError(f"{file}: not valid YAML{where}: {problem}") from None
    return spec_from_dict({} if data is None else data, source=str(file))
