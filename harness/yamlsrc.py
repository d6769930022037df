"""YAML documents as plain data plus a map from every value's path to its line.

PyYAML's composer keeps each node's position; this walks the node tree itself so every
mapping key, sequence item and scalar keeps the line it was written on. Duplicate keys,
which YAML would silently overwrite, are errors here.

The files are written by people (scenarios, relay profiles) but may be hostile or broken,
so reading one is bounded and every refusal is one ``ScenarioError`` line naming the file
(and the line when there is one):

* at most ``MAX_FILE_BYTES`` of UTF-8 text;
* lists and mappings nested at most ``MAX_DEPTH`` deep (aliases included);
* aliases (``*name``, and merge keys ``<<: *name``) are built once and shared, like
  PyYAML does, never walked again: a value reached through an alias has the line of the
  alias. Expanding them may add at most ``MAX_ALIAS_VALUES`` values and
  ``MAX_ALIAS_TEXT`` characters of text to a file, so a "billion laughs" file is refused
  instead of growing without bound in whatever walks the data next.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader, ReaderError
from yaml.resolver import Resolver

from harness.errors import ScenarioError

KeyPath = tuple[str | int, ...]

MAX_FILE_BYTES: Final = 1_000_000
"""The largest file read (1 MB; the pack's biggest scenario file is about 11 kB)."""
MAX_DEPTH: Final = 64
"""How deep lists and mappings may nest inside each other."""
MAX_ALIAS_VALUES: Final = 10_000
"""How many values (keys, items, scalars) expanding the aliases of a file may add."""
MAX_ALIAS_TEXT: Final = 1_000_000
"""How many characters of text expanding the aliases of a file may add."""

_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_VALUE_TAG: Final = "tag:yaml.org,2002:value"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_NON_PRINTABLE: Final = Reader.NON_PRINTABLE
"""What PyYAML's reader refuses (libyaml's differs): such text goes to the Python loader."""


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


def read_documents(file: Path, text: str | None = None) -> list[Document]:
    """Parse every YAML document of ``file`` (or of ``text``, named ``file``).

    Raises ``ScenarioError`` naming the file and line of a YAML syntax error, a duplicate
    key, a non-string key or a broken limit (see the module docstring); naming the file
    and the first bad byte of a file that is not UTF-8.
    """
    if text is None:
        text = _read(file)
    else:
        _check_size(file, _encoded_size(text))
    return list(_documents(file, text))


def _read(file: Path) -> str:
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                size = max(file.stat().st_size, len(raw))
                _check_size(file, size)
    except OSError as exc:
        raise ScenarioError(f"{file}: cannot read: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{file}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                            f"{exc.start})") from exc


def _encoded_size(text: str) -> int:
    if len(text) * 4 <= MAX_FILE_BYTES:  # cannot be too large: skip the encoding
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _check_size(file: Path, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ScenarioError(f"{file}: too large: {size} bytes; the limit is "
                            f"{MAX_FILE_BYTES} bytes")


def _documents(file: Path, text: str) -> Iterator[Document]:
    nodes = _fast_nodes(file, text)
    if nodes is None:
        nodes = _nodes(file, text)
    budget = _Budget()
    for node in nodes:
        builder = _Builder(file, budget)
        try:
            data = builder.build(node)
        except ConstructorError as exc:
            mark = exc.problem_mark
            line = mark.line + 1 if mark is not None else node.start_mark.line + 1
            raise ScenarioError(f"{file}:{line}: {_one_line(exc.problem or 'invalid value')}") \
                from exc
        yield Document(file, data, builder.lines, node.start_mark.line + 1)


def _fast_nodes(file: Path, text: str) -> list[Node] | None:
    """The node trees composed from libyaml's events (several times faster than PyYAML's
    own scanner and parser), or None when there is no libyaml or the text is refused: the
    pure-Python loader then reads it again and words the error, so every message is the
    same whichever parser found the problem."""
    if _FastLoader is None or _NON_PRINTABLE.search(text):
        return None
    loader = _FastLoader(text, file)
    try:
        nodes: list[Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
        return nodes
    except (yaml.YAMLError, ScenarioError):
        return None
    finally:
        loader.dispose()


def _nodes(file: Path, text: str) -> list[Node]:
    nodes: list[Node] = []
    loader: _Loader | None = None
    try:
        loader = _Loader(text, file)  # a str is checked for unprintable characters here
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                nodes.append(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(f"{file}:{line}: YAML syntax error: {_one_line(problem)}") from exc
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(f"{file}:{line}: YAML syntax error: unacceptable character "
                            f"#x{exc.character:04x}: {exc.reason}") from exc
    except yaml.YAMLError as exc:  # pragma: no cover - the reader's and parser's are above
        raise ScenarioError(f"{file}: YAML error: {_one_line(str(exc))}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    return nodes


class _AliasNode(Node):
    """Where an alias (``*name``) was written; ``target`` is the node it names."""

    id = "alias"

    def __init__(self, target: Node, anchor: str, event: Any) -> None:
        super().__init__(target.tag, None, event.start_mark, event.end_mark)
        self.target = target
        self.anchor = anchor


class _Bounded(Composer):
    """PyYAML's composer, composing aliases as ``_AliasNode`` and bounding the depth."""

    _file: Path
    _depth: int
    check_event: Callable[..., bool]  # the parser's (PyYAML's or libyaml's)
    peek_event: Callable[[], Any]

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            target = super().compose_node(parent, index)  # raises on an undefined alias
            return _AliasNode(cast(Node, target), str(event.anchor), event)
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> SequenceNode:
        self._enter()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        self._enter()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self._depth -= 1

    def _enter(self) -> None:
        # Composing recurses once per level: refuse before Python's own limit does.
        self._depth += 1
        if self._depth > MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1
            raise ScenarioError(f"{self._file}:{line}: {_too_deep()}")


class _Loader(_Bounded, yaml.SafeLoader):
    """PyYAML's pure-Python safe loader, bounded: it words every error."""

    def __init__(self, text: str, file: Path) -> None:
        self._file = file
        self._depth = 0
        super().__init__(text)


_FastLoader: Any = None
try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    pass
else:
    class _CLoader(_Bounded, CParser, Resolver):
        """libyaml's parser for the events, PyYAML's composer (bounded) for the nodes."""

        def __init__(self, text: str, file: Path) -> None:
            self._file = file
            self._depth = 0
            CParser.__init__(self, text)
            Composer.__init__(self)
            Resolver.__init__(self)

    _FastLoader = _CLoader


def _too_deep() -> str:
    return f"nested too deep: more than {MAX_DEPTH} lists and mappings inside each other"


@dataclass(frozen=True, slots=True)
class _Built:
    """A node's data and the size of its expansion (what an alias to it adds)."""

    data: Any
    values: int  # keys, items and scalars, the node included
    text: int  # characters of scalar text
    height: int  # lists and mappings nested in it, itself included (0 for a scalar)


class _Budget:
    """What the aliases of one file have added so far."""

    def __init__(self) -> None:
        self.values = 0
        self.text = 0


class _Builder:
    def __init__(self, file: Path, budget: _Budget) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self._budget = budget
        self._constructor = SafeConstructor()
        self._built: dict[int, _Built] = {}  # by id(node): each node is built once
        self._building: set[int] = set()  # the collections being built (a cycle's guard)

    def build(self, node: Node) -> Any:
        return self._child(node, (), record=True).data

    def _child(self, node: Node, path: KeyPath, record: bool) -> _Built:
        if record:
            self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, _AliasNode):
            return self._alias(node, path)
        return self._node(node, path, record)

    def _node(self, node: Node, path: KeyPath, record: bool) -> _Built:
        if isinstance(node, MappingNode):
            built = self._collection(node, path, record, self._mapping)
        elif isinstance(node, SequenceNode):
            built = self._collection(node, path, record, self._sequence)
        elif isinstance(node, ScalarNode):
            built = _Built(self._scalar(node), 1, len(node.value), 0)
        else:  # pragma: no cover - the composer makes nothing else
            raise self._error(node, "unsupported YAML node")
        self._built[id(node)] = built
        return built

    def _collection(self, node: Node, path: KeyPath, record: bool, how: Any) -> _Built:
        self._building.add(id(node))
        try:
            built: _Built = how(node, path, record)
            return built
        finally:
            self._building.discard(id(node))

    def _alias(self, alias: _AliasNode, path: KeyPath) -> _Built:
        """The target's data, built once; its expansion counted against the budget."""
        target = alias.target
        name = "alias *" + _shown(alias.anchor, quote=False)
        built = self._built.get(id(target))
        if built is None:
            if id(target) in self._building:
                raise self._error(alias, f"{name} is inside the value it names (a recursive "
                                  "structure)")
            built = self._node(target, path, record=False)  # an anchored key, say
        budget = self._budget
        budget.values += built.values
        budget.text += built.text
        if budget.values > MAX_ALIAS_VALUES:
            raise self._error(alias, f"{name}: aliases expand to more than {MAX_ALIAS_VALUES} "
                              "values in this file")
        if budget.text > MAX_ALIAS_TEXT:
            raise self._error(alias, f"{name}: aliases expand to more than {MAX_ALIAS_TEXT} "
                              "characters of text in this file")
        if len(path) + built.height > MAX_DEPTH:
            raise self._error(alias, f"{name}: {_too_deep()}")
        return built

    def _sequence(self, node: SequenceNode, path: KeyPath, record: bool) -> _Built:
        items: list[Any] = []
        values, text, height = 1, 0, 0
        for i, item in enumerate(node.value):
            child = self._child(item, (*path, i), record)
            items.append(child.data)
            values, text = values + child.values, text + child.text
            height = max(height, child.height)
        return _Built(items, values, text, height + 1)

    def _mapping(self, node: MappingNode, path: KeyPath, record: bool) -> _Built:
        result: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        merged: dict[str, Any] = {}  # from "<<" merge keys: the first source of a key wins
        values, text, height = 1, 0, 0
        for key_node, value_node in node.value:
            key_target = key_node.target if isinstance(key_node, _AliasNode) else key_node
            if isinstance(key_target, ScalarNode) and key_target.tag == _MERGE_TAG:
                source = self._child(value_node, path, record=False)
                for part in self._merge_sources(value_node, source.data):
                    for key, value in part.items():
                        merged.setdefault(key, value)
                        if record:
                            self.lines.setdefault((*path, key), value_node.start_mark.line + 1)
                values, text = values + source.values, text + source.text
                height = max(height, source.height - 1)
                continue
            key = self._key(key_node)
            line = key_node.start_mark.line + 1
            if key in result:
                raise self._error(key_node, f"duplicate key {_shown(key)} (first on line "
                                  f"{key_lines[key]})")
            key_lines[key] = line
            if record:
                self.lines[(*path, key)] = line
            child = self._child(value_node, (*path, key), record)
            result[key] = child.data
            values, text = values + 1 + child.values, text + len(key) + child.text
            height = max(height, child.height)
        if merged:  # merged keys first (as PyYAML orders them), written keys override
            result = {**merged, **result}
        return _Built(result, values, text, height + 1)

    def _merge_sources(self, node: Node, data: Any) -> list[dict[str, Any]]:
        if isinstance(data, dict):
            return [data]
        if isinstance(data, list) and all(isinstance(item, dict) for item in data):
            return data
        what = "a list of other values" if isinstance(data, list) else _shown(data)
        raise self._error(node, "a merge key (<<) takes a mapping or a list of mappings, "
                          f"got {what}")

    def _key(self, node: Node) -> str:
        target = node.target if isinstance(node, _AliasNode) else node
        if not isinstance(target, ScalarNode):
            what = "a list" if isinstance(target, SequenceNode) else "a mapping"
            raise self._error(node, f"a mapping key must be a string, got {what}")
        key = self._scalar(target)
        if isinstance(key, int | float | bool) or key is None:
            key = str(key)
        if not isinstance(key, str):
            raise self._error(node, f"a mapping key must be a string, got {_shown(key)}")
        return key

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _VALUE_TAG:  # a plain "=": PyYAML has no constructor for it
            return str(node.value)
        try:
            value = self._constructor.construct_object(node, deep=True)
        except ConstructorError:
            raise
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError):
            # PyYAML's constructors fail this way on "!!int x", "!!bool maybe",
            # "!!timestamp x", a date such as 2024-13-01, an int of 5000 digits, ...
            kind = node.tag.rpartition(":")[2] or node.tag
            raise self._error(node, f"cannot read {_shown(node.value)} as "
                              f"{_shown(kind, quote=False)}") from None
        if node.style == '"' and isinstance(value, str):
            surrogate = _SURROGATE.search(value)  # from an escape such as "\ud800"
            if surrogate:
                raise self._error(node, f"{_shown(value)} holds \\u{ord(surrogate.group()):04x}, "
                                  "a lone surrogate, not a character")
        return value

    def _error(self, node: Node, message: str) -> ScenarioError:
        return ScenarioError(f"{self.file}:{node.start_mark.line + 1}: {message}")


def _shown(value: Any, quote: bool = True) -> str:
    """``value`` for a one-line message: ``repr`` (or text), cut at 60 characters."""
    text = repr(value) if quote else _one_line(str(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())
