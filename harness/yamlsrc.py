"""YAML documents as plain data plus a map from every value's path to its line.

PyYAML's composer keeps each node's position; this walks the node tree itself so every
mapping key, sequence item and scalar keeps the line it was written on. Duplicate keys,
which YAML would silently overwrite, are errors here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import ScenarioError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its data and the line of every path within it."""

    file: Path
    data: Any
    lines: dict[KeyPath, int]
    line: int  # first line of the document

    def line_of(self, path: KeyPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


class _Builder:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self._constructor = SafeConstructor()

    def build(self, node: Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            return self._constructor.construct_object(node, deep=True)
        raise self._error(node, "unsupported YAML node")  # pragma: no cover

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        self._constructor.flatten_mapping(node)  # resolve "<<" merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key) if isinstance(key, int | float | bool) or key is None else key
            if not isinstance(key, str):
                raise self._error(key_node, f"a mapping key must be a string, got {key!r}")
            if key in result:
                first = self.lines.get((*path, key), 0)
                raise self._error(key_node, f"duplicate key {key!r} (first on line {first})")
            self.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        return result

    def _error(self, node: Node, message: str) -> ScenarioError:
        return ScenarioError(f"{self.file}:{node.start_mark.line + 1}: {message}")


def read_documents(file: Path, text: str | None = None) -> list[Document]:
    """Parse every YAML document of ``file`` (or of ``text``, named ``file``).

    Raises ``ScenarioError`` naming the file and line of a YAML syntax error, a duplicate
    key or a non-string key.
    """
    if text is None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    return list(_documents(file, text))


def _documents(file: Path, text: str) -> Iterator[Document]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(f"{file}:{line}: YAML syntax error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{file}: YAML error: {exc}") from exc
    for node in nodes:
        if node is None:
            continue
        builder = _Builder(file)
        try:
            data = builder.build(node, ())
        except ConstructorError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else node.start_mark.line + 1
            raise ScenarioError(f"{file}:{line}: {exc.problem}") from exc
        yield Document(file, data, builder.lines, node.start_mark.line + 1)
