"""Validation of scenario documents against the published JSON Schema (``schema.json``,
generated from ``schema_base.json`` and the step kinds of ``harness.scenario.kinds``).

jsonschema's messages are translated into ``file:line: where: what is wrong; allowed: ...``
where ``where`` names the step (``step 3 (emit)``), the actor or the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from harness.scenario.kinds import GROUP_KINDS, STEP_KINDS, build_schema
from harness.text import short
from harness.yamlsrc import Document, KeyPath


@cache
def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of one scenario document (what ``schema.json`` publishes)."""
    return build_schema()



@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(scenario_schema())


def step_kind(step: Any) -> str:
    """The kind key of a raw step mapping (``"?"`` when it has none)."""
    if isinstance(step, dict):
        for key in step:
            if key in STEP_KINDS:
                return str(key)
    return "?"


def locate(data: Any, path: KeyPath) -> tuple[str, KeyPath]:
    """Split ``path`` into a description of its owner (step, actor) and the rest.

    ``("steps", 2, "parallel", 0, "emit", "ack")`` -> ``("step 3.1 (emit)", ("ack",))``.
    """
    path = tuple(path)
    if len(path) >= 2 and path[0] == "actors":
        return f"actor {path[1]}", path[2:]
    if len(path) < 2 or path[0] != "steps" or not isinstance(path[1], int):
        return "", path
    labels: list[str] = []
    node: Any = data.get("steps") if isinstance(data, dict) else None
    rest = path[1:]
    step: Any = None
    while rest and isinstance(rest[0], int) and isinstance(node, list) and rest[0] < len(node):
        labels.append(str(rest[0] + 1))
        step = node[rest[0]]
        rest = rest[1:]
        kind = step_kind(step)
        if len(rest) >= 2 and rest[0] == kind and kind in GROUP_KINDS \
                and isinstance(rest[1], int):
            node = step[kind]
            rest = rest[1:]
            continue
        break
    kind = step_kind(step)
    name = step.get("name") if isinstance(step, dict) else None
    named = f'"{name}"' if isinstance(name, str) and name else ""
    if rest and rest[0] == kind:
        rest = rest[1:]
    inside = " ".join(part for part in (kind if kind != "?" else "", named) if part)
    return f"step {'.'.join(labels)}" + (f" ({inside})" if inside else ""), rest


def format_error(doc: Document, path: KeyPath, message: str, allowed: str | None = None,
                 line_at: KeyPath | None = None) -> str:
    """``file:line: where, field x.y: message; allowed: ...`` for a problem at ``path``.

    The line is that of ``line_at`` when given (an unknown key), else of ``path``.
    """
    where, rest = locate(doc.data, path)
    parts = [where] if where else []
    if rest:
        parts.append("field " + ".".join(str(p) for p in rest))
    prefix = ", ".join(parts)
    text = f"{prefix}: {message}" if prefix else message
    if allowed:
        text += f"; allowed: {allowed}"
    return f"{doc.file}:{doc.line_of(line_at or path)}: {text}"


@cache
def _group_validator(instance: bool) -> Draft202012Validator:
    return Draft202012Validator(group_schema(instance))


@cache
def group_schema(instance: bool = False) -> dict[str, Any]:
    """The JSON Schema of a step group file (``<name>.steps.yaml``). Its steps are checked
    once its parameters are substituted (``instance``), as they are at each use."""
    base = scenario_schema()
    steps = {"$ref": "#/$defs/steps"} if instance else \
        {"type": "array", "minItems": 1, "items": {"type": "object"}}
    return {
        "$schema": base["$schema"], "title": "Gadget Harness step group",
        "description": "Steps a scenario uses with `use: <name>`, given parameters with "
                       "`with:`. Reference: docs/scenarios.md.",
        "type": "object", "required": ["steps"], "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "params": {
                "type": "object", "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"actor": {"enum": ["ide", "drone", "http"]},
                                   "default": {}, "description": {"type": "string"}},
                },
            },
            "steps": steps,
        },
        "$defs": base["$defs"],
    }


def validate_document(doc: Document, group: str | None = None) -> list[str]:
    """Every schema error of ``doc`` (a scenario; a step group file with ``group="file"``,
    or one with its parameters substituted with ``group="instance"``), translated and
    sorted by line; empty when valid."""
    validator = _validator() if group is None else _group_validator(group == "instance")
    errors = list(validator.iter_errors(doc.data))
    unknown_at = {tuple(e.absolute_path) for e in errors if e.validator == "additionalProperties"}
    results: list[tuple[int, str]] = []
    seen: set[str] = set()
    for error in errors:
        path = tuple(error.absolute_path)
        if error.validator == "oneOf" and path in unknown_at:
            continue  # an unknown key already explains the missing kind
        for at, line_at, message, allowed in _translate(error):
            text = format_error(doc, at, message, allowed, line_at)
            if text not in seen:
                seen.add(text)
                results.append((doc.line_of(line_at or at), text))
    return [text for _, text in sorted(results, key=lambda item: item[0])]


def _names(values: Iterable[Any]) -> str:
    """Values as YAML writes them: ``true``, ``null``, ``client``."""
    def written(value: Any) -> str:
        if value is None:
            return "null"
        return str(value).lower() if isinstance(value, bool) else str(value)

    return ", ".join(written(v) for v in values)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "true or false",
               "null": "null"}


def _shown(value: Any) -> str:
    return short(value, 60, sort_keys=False)


_Problem = tuple[KeyPath, KeyPath | None, str, str | None]  # where, line of, message, allowed


def _translate(error: ValidationError) -> list[_Problem]:
    path: KeyPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.validator_value
    instance = error.instance
    kind = error.validator
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        is_step = set(STEP_KINDS) <= set(allowed)
        out: list[_Problem] = []
        for key in instance:
            if key in allowed:
                continue
            what = "unknown step kind" if is_step else "unknown field"
            listed = ", ".join(STEP_KINDS) + " (and name)" if is_step else ", ".join(allowed)
            out.append((path, (*path, key), f"{what} {key!r}", listed))
        return out
    if kind == "dependentRequired" and isinstance(instance, dict):
        return [(path, (*path, name), f"{name!r} needs {_names(repr(n) for n in needs)}", None)
                for name, needs in value.items() if name in instance]
    if kind == "required" and isinstance(instance, dict):
        missing = [name for name in value if name not in instance]
        return [(path, None, f"missing field {_names(repr(m) for m in missing)}", None)]
    if kind == "oneOf" and _is_required_choice(value):
        choices = [sub["required"][0] for sub in value]
        found = [k for k in choices if isinstance(instance, dict) and k in instance]
        is_step = set(STEP_KINDS) <= set(choices)
        subject = "a step needs exactly one step kind" if is_step else \
            f"needs exactly one of {_names(choices)}"
        detail = f"found {_names(found)}" if found else "found none"
        return [(path, None, f"{subject}; {detail}", _names(choices) if is_step else None)]
    if kind == "anyOf" and _is_required_choice(value):
        choices = [sub["required"][0] for sub in value]
        return [(path, None, f"needs at least one of {_names(choices)}", None)]
    if kind == "anyOf" and schema.get("$comment") == "duration":
        return [(path, None, "must be seconds (a number > 0) or a sum such as "
                 f"'${{relay.drone_ack_timeout}} + 10', got {_json_type(instance)} "
                 f"{_shown(instance)}", None)]
    if kind == "type":
        types = [value] if isinstance(value, str) else list(value)
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        if "array" in types and "items" in schema:
            wanted = wanted.replace("a list", "a list of names")
        got = f"{_json_type(instance)} {_shown(instance)}"
        return [(path, None, f"must be {wanted}, got {got}", None)]
    if kind == "enum":
        return [(path, None, f"{_shown(instance)} is not allowed", _names(value))]
    if kind == "pattern":
        return [(path, None, f"{_shown(instance)} does not match {value}", None)]
    if kind in ("minimum", "exclusiveMinimum"):
        op = ">=" if kind == "minimum" else ">"
        return [(path, None, f"must be {op} {value}, got {_shown(instance)}", None)]
    if kind in ("minItems", "minProperties"):
        return [(path, None, f"must not be empty (at least {value})", None)]
    if kind == "minLength":
        return [(path, None, "must not be empty", None)]
    if kind == "uniqueItems":
        return [(path, None, f"has duplicate items: {_shown(instance)}", None)]
    if kind == "propertyNames":
        bad = [k for k in instance if not _validator().evolve(schema=value).is_valid(k)]
        return [(path, (*path, k), f"bad name {k!r}: use letters, digits, _ and -", None)
                for k in bad] or [(path, None, error.message, None)]
    return [(path, None, error.message, None)]


def _is_required_choice(value: Sequence[Any]) -> bool:
    return all(isinstance(sub, dict) and list(sub) == ["required"] and len(sub["required"]) == 1
               for sub in value)
