"""Step group files read and checked once per process, not once per use.

The pack's scenarios use a handful of step group files hundreds of times; reading and
checking a file against the group schema, and checking an instance (the file with one set
of arguments substituted) against it, give the same answer every time while the file is
unchanged. Both are kept here, keyed by the file's path, size and modification time, so an
edited file is read again (``harness explore`` and the plugin load files in a long-lived
process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from harness.scenario.schema import validate_document
from harness.scenario.stepgroups import StepGroup, read_group
from harness.yamlsrc import Document

__all__ = ["checked_group", "instance_problems"]

_MAX_ENTRIES: Final = 4096
"""Past this many entries the cache starts again (a process loading endless variants)."""

_Key = tuple[Path, int, int]
_groups: dict[tuple[_Key, str], tuple[StepGroup, list[str]]] = {}
_instances: dict[tuple[_Key, str], list[str]] = {}


def _key(file: Path) -> _Key:
    stat = file.stat()
    return file, stat.st_mtime_ns, stat.st_size


def checked_group(name: str, file: Path, shown: Path) -> tuple[StepGroup, list[str]]:
    """Step group ``name`` read from ``file`` (named ``shown`` in errors) and the problems
    the group schema finds in it; raises ``ScenarioError`` when it cannot be read."""
    key = (_key(file), name)
    found = _groups.get(key)
    if found is None:
        group = read_group(name, shown)
        found = group, validate_document(group.doc, group="file")
        _remember(_groups, key, found)
    return found[0], list(found[1])


def instance_problems(file: Path, instance: Document, args: dict[str, Any]) -> list[str]:
    """The problems the instance schema finds in ``instance``: ``file``'s group with
    ``args`` substituted."""
    key = (_key(file), repr(sorted(args.items(), key=lambda item: item[0])))
    found = _instances.get(key)
    if found is None:
        found = validate_document(instance, group="instance")
        _remember(_instances, key, found)
    return list(found)


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _MAX_ENTRIES:
        cache.clear()
    cache[key] = value
