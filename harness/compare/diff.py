"""Structural diffs: of two JSON values, and of two runs' items on one channel.

``fields`` says which fields were added, removed, or changed type or value. ``sequence``
compares two lists of ``Item``s: items that appear, disappear or duplicate, pairs of items
whose body changed (matched by event, in order), and a changed order of what both have.
Everything here is pure; it never reads a clock or the network.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from harness.compare.normalize import UNKNOWN_WORK_ORDER
from harness.compare.observe import Item

FieldKind = Literal["added", "removed", "type", "value"]
StepKind = Literal["appeared", "disappeared", "duplicated", "fewer", "changed", "reordered"]
MISSING: Final = "<absent>"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its path (``answer.error``, ``payload.items[2]``), how, and
    the two values (``<absent>`` for the side without it)."""

    path: str
    kind: FieldKind
    before: Any = MISSING
    after: Any = MISSING

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"path": self.path, "kind": self.kind, "before": self.before,
                "after": self.after}


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def fields(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Every field that differs between ``before`` and ``after``, depth first."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[FieldChange] = []
        for key in before:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(FieldChange(sub, "removed", before[key], MISSING))
            else:
                out.extend(fields(before[key], after[key], sub))
        for key in after:
            if key not in before:
                sub = f"{path}.{key}" if path else str(key)
                out.append(FieldChange(sub, "added", MISSING, after[key]))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [change for i, (b, a) in enumerate(zip(before, after, strict=True))
                for change in fields(b, a, f"{path}[{i}]")]
    if before == after and _type(before) == _type(after):
        return []
    kind: FieldKind = "value" if _type(before) == _type(after) else "type"
    return [FieldChange(path or "(whole)", kind, before, after)]


def signature(item: Item) -> str:
    """What identifies an item's content: its event and body, as canonical JSON."""
    return item.event + " " + json.dumps(item.body(), sort_keys=True, default=str)


@dataclass(frozen=True)
class StepDiff:
    """One difference on a channel. ``baseline``/``candidate`` are the items concerned on
    each side (one each for ``changed``; the extra ones for ``appeared``/``duplicated``;
    the missing ones for ``disappeared``/``fewer``; the common items in each side's order
    for ``reordered``)."""

    kind: StepKind
    event: str
    baseline: tuple[Item, ...] = ()
    candidate: tuple[Item, ...] = ()
    changes: tuple[FieldChange, ...] = ()

    def fingerprint(self) -> str:
        """What makes two runs' diffs the same difference: kind, event, what changed (or
        the content that appeared, disappeared or moved), never the run's seq numbers."""
        if self.kind == "changed":
            detail = json.dumps([c.to_json() for c in self.changes], sort_keys=True,
                                default=str)
        elif self.kind == "reordered":
            detail = json.dumps([signature(i) for i in self.candidate])
        else:
            detail = json.dumps(sorted(signature(i) for i in (*self.baseline,
                                                               *self.candidate)))
        return f"{self.kind}|{self.event}|{detail}"


# The fields that say which stream event, completion or status an item is, whatever else a
# relay adds or leaves out: items of one event agreeing on these are one item on both sides.
_CORE_FIELDS: Final = ("registrationId", "seq", "text", "name", "status", "summary", "error",
                       "event", "toolCallId", "prompt")


def identity(item: Item) -> str:
    """What makes an item on one side the same item on the other: for what the harness
    sent (emits, HTTP requests) its whole payload, for what the relay sent its event and
    core fields (``registrationId``, ``seq``, ``text``, ``status``...)."""
    unknown = UNKNOWN_WORK_ORDER in json.dumps(item.payload, default=str)
    if item.channel == "link":
        core: Any = item.payload.get("reason") if isinstance(item.payload, dict) else None
    elif item.channel in ("emit", "http") or not isinstance(item.payload, dict):
        core = item.payload
    else:
        # Not the work order's number: concurrent work orders reach an actor in either
        # order. Items of identical content pair in order, which keeps each one's order.
        core = {k: item.payload[k] for k in _CORE_FIELDS if k in item.payload}
    return f"{item.event}|{unknown}|" + json.dumps(core, sort_keys=True, default=str)


def sequence(baseline: Sequence[Item], candidate: Sequence[Item]) -> list[StepDiff]:
    """Every difference between the two item lists of one channel (see the module
    docstring); empty when they hold the same content in the same order.

    Items are matched by ``identity``, the k-th of one identity on one side with the k-th
    on the other. Matched items whose bodies differ are ``changed`` (one difference per
    event and kind of change, however many items share it); unmatched ones appeared,
    disappeared, duplicated or came fewer times; matched ones in another order are
    ``reordered``.
    """
    base_ids = Counter(identity(i) for i in baseline)
    slots: dict[str, list[Item]] = defaultdict(list)
    for item in candidate:
        slots[identity(item)].append(item)
    taken: dict[str, int] = Counter()
    pairs: list[tuple[Item, Item]] = []
    gone: list[Item] = []
    for item in baseline:
        key = identity(item)
        if taken[key] < len(slots[key]):
            pairs.append((item, slots[key][taken[key]]))
            taken[key] += 1
        else:
            gone.append(item)
    matched = {id(c) for _, c in pairs}
    new = [i for i in candidate if id(i) not in matched]
    out: list[StepDiff] = []
    changed: dict[str, list[tuple[Item, Item, list[FieldChange]]]] = {}
    for before, after in pairs:
        if signature(before) == signature(after):
            continue
        changes = fields(before.body(), after.body())
        shape = json.dumps([(c.path, c.kind) if c.kind == "added" else c.to_json()
                            for c in changes], sort_keys=True, default=str)
        changed.setdefault(f"{before.event}|{shape}", []).append((before, after, changes))
    for group in changed.values():
        out.append(StepDiff("changed", group[0][0].event, tuple(b for b, _, _ in group),
                            tuple(a for _, a, _ in group), tuple(group[0][2])))
    for item in gone:
        kind: StepKind = "fewer" if slots.get(identity(item)) else "disappeared"
        out.append(StepDiff(kind, item.event, baseline=(item,)))
    for item in new:
        kind = "duplicated" if base_ids[identity(item)] else "appeared"
        out.append(StepDiff(kind, item.event, candidate=(item,)))
    position = {id(item): n for n, item in enumerate(candidate)}
    order = [position[id(after)] for _, after in pairs]
    if order != sorted(order):
        moved = next(n for n, (a, b) in enumerate(zip(order, sorted(order), strict=True))
                     if a != b)
        in_cand = sorted(pairs, key=lambda p: position[id(p[1])])
        out.append(StepDiff("reordered", pairs[moved][0].event,
                            tuple(b for b, _ in pairs),
                            tuple(a for _, a in in_cand)))
    return out
