"""What results and reports read of a parsed scenario, as Protocols.

``harness.scenario.model`` (``Scenario``, ``Step``, ``Source``) has these shapes; stating
them here lets the results sit below the scenario engine, so reports never import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ScenarioLike", "SourceLike", "StepLike"]


class SourceLike(Protocol):
    """Where something was written: file and 1-based line."""

    @property
    def file(self) -> Path: ...

    @property
    def line(self) -> int: ...


class StepLike(Protocol):
    """One step: its kind, position label, source and title."""

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def source(self) -> SourceLike: ...

    @property
    def args(self) -> Any: ...

    @property
    def title(self) -> str: ...


class ScenarioLike(Protocol):
    """One scenario: its name, id, source, description, tags and steps."""

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def source(self) -> SourceLike: ...

    @property
    def description(self) -> str: ...

    @property
    def tags(self) -> tuple[str, ...]: ...

    @property
    def expect_violations(self) -> tuple[str, ...]: ...

    @property
    def negative(self) -> bool: ...

    @property
    def steps(self) -> Sequence[StepLike]: ...
