"""Payload matchers: compare an expected value, as written in a scenario, with an actual one.

Plain data matches as follows: a mapping is a *subset* (every listed key must be present
and match; other keys are allowed), a list matches element by element with the same
length, a scalar by equality (``true`` never equals ``1``). A mapping whose keys all
start with ``$`` is a matcher; several operators in one mapping must all hold:

    {$exact: v}      as plain, but no mapping inside may have keys v does not list
    {$subset: v}     a mapping: as plain; a list: each item matches a distinct actual item
    {$regex: re}     a string that ``re`` matches (re.search; anchor with ^ and $)
    {$type: t}       t, or a list of t: string integer number boolean null object array objectid
    {$any: true}     anything (but the key must be present)
    {$len: n}        length n, or {min: a, max: b}, of a string, list or mapping
    {$absent: true}  as a mapping value: the key must not be present
    {$capture: name} anything, saved as ``${capture.name}`` when the whole match succeeds
    {$one_of: [a, b]} any one of the alternatives (each a value or matcher); the first that
                     matches gives the captures. For points where relays may differ.
    {$rfc3339: true} an RFC 3339 date-time string with any offset (``Z`` included); in the
                     database (``check_db``) a BSON date too, which is shown as RFC 3339
    {$with_id: v}    a mapping carrying its id (matched by v) under ``id`` or ``_id``
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.outcome.findings import Mismatch
from harness.protocol import is_object_id
from harness.text import short

OPERATORS = ("$exact", "$subset", "$regex", "$type", "$any", "$len", "$absent", "$capture",
             "$one_of", "$rfc3339", "$with_id")
# RFC 3339 section 5.6 date-time: full-date "T" full-time, the offset required (Z or +hh:mm).
_RFC3339 = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)")
TYPES = ("string", "integer", "number", "boolean", "null", "object", "array", "objectid")


@dataclass(frozen=True)
class MatchResult:
    """The outcome of a match: no mismatches means it matched; captures are then valid."""

    mismatches: tuple[Mismatch, ...] = ()
    captures: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when everything matched."""
        return not self.mismatches

    def __bool__(self) -> bool:
        return self.ok


def is_matcher(value: Any) -> bool:
    """True for a mapping whose keys all start with ``$`` (and that has at least one)."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and k.startswith("$") for k in value)


def check(expected: Any, path: str = "") -> list[tuple[str, str]]:
    """Syntax errors of a matcher tree, as ``(path, message)``; empty when well formed."""
    errors: list[tuple[str, str]] = []
    if isinstance(expected, list):
        for i, item in enumerate(expected):
            errors += check(item, f"{path}[{i}]")
    elif isinstance(expected, dict):
        dollar = [k for k in expected if k.startswith("$")]
        if dollar and len(dollar) != len(expected):
            plain = [k for k in expected if not k.startswith("$")]
            errors.append((path, f"mixes matcher keys ({', '.join(dollar)}) with plain keys "
                                 f"({', '.join(plain)}); nest the plain keys in $subset"))
        elif dollar:
            for op, arg in expected.items():
                errors += _check_operator(op, arg, path)
        else:
            for key, item in expected.items():
                errors += check(item, _join(path, key))
    return errors


def _check_operator(op: str, arg: Any, path: str) -> list[tuple[str, str]]:
    def bad(message: str) -> list[tuple[str, str]]:
        return [(path, f"{op}: {message}")]

    if op not in OPERATORS:
        return [(path, f"unknown matcher {op!r}; allowed: {', '.join(OPERATORS)}")]
    if op == "$regex":
        if not isinstance(arg, str):
            return bad("needs a regular expression string")
        try:
            re.compile(arg)
        except re.error as exc:
            return bad(f"invalid regular expression: {exc}")
    elif op == "$type":
        names = arg if isinstance(arg, list) else [arg]
        unknown = [n for n in names if n not in TYPES]
        if unknown or not names:
            return bad(f"unknown type {unknown[0] if unknown else arg!r}; "
                       f"allowed: {', '.join(TYPES)}")
    elif op == "$one_of":
        if not isinstance(arg, list) or len(arg) < 2:
            return bad("needs a list of at least two alternatives")
        errors: list[tuple[str, str]] = []
        for item in arg:
            errors += check(item, path)
        return errors
    elif op == "$with_id":
        return check(arg, path)
    elif op in ("$any", "$absent", "$rfc3339"):
        if arg is not True:
            return bad("write true")
    elif op == "$len":
        if isinstance(arg, dict):
            if not arg or set(arg) - {"min", "max"} or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0
                    for v in arg.values()):
                return bad("write a count or {min: a, max: b} with counts >= 0")
        elif isinstance(arg, bool) or not isinstance(arg, int) or arg < 0:
            return bad("write a count >= 0 or {min: a, max: b}")
    elif op == "$capture":
        if not isinstance(arg, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", arg):
            return bad("needs a name (letters, digits, _)")
    elif op == "$subset":
        if not isinstance(arg, dict | list):
            return bad("needs a mapping or a list")
        return check(arg, path)
    elif op == "$exact":
        return check(arg, path)
    return []


def match(expected: Any, actual: Any, path: str = "") -> MatchResult:
    """Match ``actual`` against ``expected``; see the module docstring for the rules."""
    captures: dict[str, Any] = {}
    mismatches = _match(expected, actual, path, captures, exact=False)
    return MatchResult(tuple(mismatches), captures if not mismatches else {})


def _match(expected: Any, actual: Any, path: str, captures: dict[str, Any],
           exact: bool) -> list[Mismatch]:
    if is_matcher(expected):
        out: list[Mismatch] = []
        for op, arg in expected.items():
            out += _operator(op, arg, actual, path, captures)
        return out
    if isinstance(expected, dict):
        return _mapping(expected, actual, path, captures, exact)
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [Mismatch(path, f"a list of {len(expected)}", actual)]
        if len(actual) != len(expected):
            return [Mismatch(path, f"a list of {len(expected)} items "
                                   f"(got {len(actual)})", actual)]
        out = []
        for i, (want, got) in enumerate(zip(expected, actual, strict=True)):
            out += _match(want, got, f"{path}[{i}]", captures, exact)
        return out
    if _equal(expected, actual):
        return []
    return [Mismatch(path, short(expected), actual)]


def _mapping(expected: dict[str, Any], actual: Any, path: str, captures: dict[str, Any],
             exact: bool) -> list[Mismatch]:
    if not isinstance(actual, dict):
        return [Mismatch(path, "a mapping", actual)]
    out: list[Mismatch] = []
    if exact:
        out += [Mismatch(_join(path, key), "no such key", value)
                for key, value in actual.items() if key not in expected]
    for key, want in expected.items():
        where = _join(path, key)
        if is_matcher(want) and want.get("$absent") is True:
            if key in actual:
                out.append(Mismatch(where, "no such key", actual[key]))
            continue
        if key not in actual:
            if not _allows_absent(want):
                out.append(Mismatch(where, short(want), None, missing=True))
            continue
        out += _match(want, actual[key], where, captures, exact)
    return out


def _operator(op: str, arg: Any, actual: Any, path: str,
              captures: dict[str, Any]) -> list[Mismatch]:
    if op == "$exact":
        return _match(arg, actual, path, captures, exact=True)
    if op == "$subset":
        if isinstance(arg, list):
            return _subset_list(arg, actual, path, captures)
        return _mapping(arg, actual, path, captures, exact=False)
    if op == "$regex":
        if isinstance(actual, str) and re.search(arg, actual):
            return []
        return [Mismatch(path, f"a string matching /{arg}/", actual)]
    if op == "$type":
        names = arg if isinstance(arg, list) else [arg]
        if any(_has_type(actual, name) for name in names):
            return []
        return [Mismatch(path, " or ".join(names), actual)]
    if op == "$len":
        size = len(actual) if isinstance(actual, str | list | dict) else None
        low, high = (arg, arg) if isinstance(arg, int) else (arg.get("min"), arg.get("max"))
        if size is not None and (low is None or size >= low) and (high is None or size <= high):
            return []
        want = f"length {arg}" if isinstance(arg, int) else \
            f"length in [{low if low is not None else 0}, {high if high is not None else 'inf'}]"
        return [Mismatch(path, want + (f" (got {size})" if size is not None else ""), actual)]
    if op == "$capture":
        captures[arg] = actual
        return []
    if op == "$one_of":
        for alternative in arg:
            trial: dict[str, Any] = {}
            if not _match(alternative, actual, path, trial, exact=False):
                captures.update(trial)
                return []
        return [Mismatch(path, "one of " + " | ".join(short(a, 40) for a in arg), actual)]
    if op == "$rfc3339":
        if isinstance(actual, str) and is_rfc3339(actual):
            return []
        return [Mismatch(path, "an RFC 3339 date-time (e.g. 2025-01-01T10:00:00Z)", actual)]
    if op == "$with_id":
        if not isinstance(actual, dict):
            return [Mismatch(path, "a mapping with an id (id or _id)", actual)]
        keys = [k for k in ("id", "_id") if k in actual]
        if not keys:
            return [Mismatch(_join(path, "id"), f"an id under id or _id: {short(arg)}", None,
                             missing=True)]
        out = []
        for key in keys:
            out = _match(arg, actual[key], _join(path, key), captures, exact=False)
            if not out:
                return []
        return out
    if op == "$absent":  # a mapping judges its own keys; reaching here means a value exists
        return [Mismatch(path, "nothing (absent)", actual)]
    return []  # $any


def _allows_absent(want: Any) -> bool:
    """True for ``{$absent: true}`` or a ``$one_of`` with such an alternative."""
    if not is_matcher(want):
        return False
    alternatives = want.get("$one_of")
    return want.get("$absent") is True or (
        isinstance(alternatives, list) and any(_allows_absent(a) for a in alternatives))


def _subset_list(expected: list[Any], actual: Any, path: str,
                 captures: dict[str, Any]) -> list[Mismatch]:
    if not isinstance(actual, list):
        return [Mismatch(path, "a list", actual)]
    used: set[int] = set()
    out: list[Mismatch] = []
    for want in expected:
        for i, got in enumerate(actual):
            trial: dict[str, Any] = {}
            if i not in used and not _match(want, got, path, trial, exact=False):
                used.add(i)
                captures.update(trial)
                break
        else:
            out.append(Mismatch(path, f"an item matching {short(want)}", actual))
    return out


def is_rfc3339(text: str) -> bool:
    """True for an RFC 3339 date-time with an offset and a real calendar date."""
    if not _RFC3339.fullmatch(text):
        return False
    try:  # the pattern admits 31 February; the calendar does not (leap seconds aside)
        datetime.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _has_type(value: Any, name: str) -> bool:
    if name == "objectid":
        return is_object_id(value)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    checks: dict[str, Any] = {"string": str, "boolean": bool, "object": dict, "array": list,
                              "null": type(None)}
    return isinstance(value, checks[name])


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return bool(expected == actual)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
