"""``-k`` expressions over scenario ids and tags, as pytest spells them.

    harness run scenarios -k "delivery and not slow"
    harness run scenarios -k "contention or termination"

A word matches when it is a case-insensitive substring of the scenario's id (file path and
name) or equals one of its tags; ``and``, ``or``, ``not`` and parentheses combine words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from harness.errors import ConfigError
from harness.scenario.model import Scenario

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
Predicate = Callable[[Scenario], bool]


def compile_expression(expression: str) -> Predicate:
    """A predicate for ``expression``; raises ``ConfigError`` saying what is wrong with it."""
    tokens = [m.group(1) for m in _TOKEN.finditer(expression)]
    if not tokens:
        return lambda scenario: True
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        token = peek()
        if token is None:
            raise ConfigError(f"-k {expression!r}: unexpected end of expression")
        position += 1
        return token

    def either() -> Predicate:
        left = both()
        while peek() == "or":
            take()
            left = _or(left, both())
        return left

    def both() -> Predicate:
        left = negation()
        while peek() == "and":
            take()
            left = _and(left, negation())
        return left

    def negation() -> Predicate:
        if peek() == "not":
            take()
            inner = negation()
            return lambda scenario: not inner(scenario)
        token = take()
        if token == "(":
            inner = either()
            if take() != ")":
                raise ConfigError(f"-k {expression!r}: missing ')'")
            return inner
        if token in (")", "and", "or"):
            raise ConfigError(f"-k {expression!r}: unexpected {token!r}")
        return _word(token)

    predicate = either()
    if peek() is not None:
        raise ConfigError(f"-k {expression!r}: unexpected {peek()!r}")
    return predicate


def _word(word: str) -> Predicate:
    lowered = word.lower()
    return lambda s: lowered in s.id.lower() or lowered in (t.lower() for t in s.tags)


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda scenario: left(scenario) and right(scenario)


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda scenario: left(scenario) or right(scenario)


def select(scenarios: list[Scenario], expression: str | None) -> list[Scenario]:
    """The scenarios ``expression`` selects (all of them for None or blank)."""
    if not expression or not expression.strip():
        return list(scenarios)
    predicate = compile_expression(expression)
    return [s for s in scenarios if predicate(s)]
