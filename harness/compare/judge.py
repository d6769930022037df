"""Whether a difference is a regression or one that contract v1.1 allows, and its words.

The rules follow section 11 of the contract point by point (and the two optional parts of
sections 4 and 10); anything they do not cover is a regression. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from harness.compare.diff import MISSING, FieldChange, StepDiff
from harness.compare.model import Verdict
from harness.compare.normalize import UNKNOWN_WORK_ORDER
from harness.compare.observe import AFTER_UNKNOWN_WORK_ORDER, LOCK_WHILE_PENDING, NO_ACK, Item
from harness.protocol import AUTH_ERRORS, DroneStatus, ErrorCode, Event, Route

RULES: Final = {
    "11.1": "11.1 precedence of errors",
    "11.2": "11.2 extra fields",
    "11.2id": "11.2 ids under id or _id",
    "11.3": "11.3 timestamp format",
    "11.4": "11.4 timing of acks",
    "11.5": "11.5 droneRecovered when nothing is recovered",
    "11.6": "11.6 events from the wrong side",
    "11.7": "11.7 events of an unknown work order",
    "11.8": "11.8 blank prompts",
    "11.9": "11.9 refusal messages",
    "4": "4 a lock request while another waits",
    "10": "10 introspection: maps beyond the four named",
    "5": "5 order is kept per work order only",
}


@dataclass(frozen=True)
class Judgement:
    """A verdict, the kind of change, one line naming it, and the contract point that
    allows it (empty for a regression)."""

    verdict: Verdict
    kind: str
    summary: str
    rule: str = ""


def answer_code(answer: Any) -> str | None:
    """An answer's error code, ``ok``, ``<no ack>``, or None when it is not an ack."""
    if isinstance(answer, dict):
        if answer.get("ok") is True:
            return "ok"
        code = answer.get("error")
        return code if isinstance(code, str) else None
    if isinstance(answer, str) and answer.startswith("<"):
        return answer
    if answer is True or answer is False:
        return str(answer).lower()
    return None


def _where(item: Item) -> str:
    return f"{item.actor} {item.event}"


def judge(diff: StepDiff, channel: str, context: frozenset[str] = frozenset()) -> Judgement:
    """The judgement of one channel difference (see the module docstring). ``context``:
    the tags of the scenario's runs (``LOCK_WHILE_PENDING`` when a lock request was made
    while another waited)."""
    if diff.kind == "changed":
        judgement = _changed(diff.baseline[0], diff.candidate[0], diff.changes, channel)
        if len(diff.baseline) > 1:
            judgement = replace(judgement, summary=f"{judgement.summary} "
                                                   f"({len(diff.baseline)} messages)")
        return judgement
    items = diff.baseline or diff.candidate
    first = items[0]
    if diff.kind == "reordered":
        return _reordered(diff)
    allowed = _allowed_presence(first, channel)
    if not allowed and LOCK_WHILE_PENDING in context \
            and first.event in (Event.REQUEST_SESSION_LOCK, Event.DRONE_STATUS):
        allowed = "4"  # a request refused at once never reaches the drone
    what = {"appeared": "now arrives (not on the baseline)",
            "disappeared": "no longer arrives",
            "duplicated": "arrives more often",
            "fewer": "arrives fewer times"}[diff.kind]
    if channel == "emit":
        what = {"appeared": "is now emitted by the scenario (a path the baseline did not "
                            "take)",
                "disappeared": "is no longer emitted by the scenario (it stopped earlier)",
                "duplicated": "is emitted more often", "fewer": "is emitted fewer times"
                }[diff.kind]
    elif channel == "link":
        what = {"appeared": "now happens", "disappeared": "no longer happens",
                "duplicated": "happens more often", "fewer": "happens fewer times"}[diff.kind]
    count = f" ({len(items)} times)" if len(items) > 1 else ""
    summary = f"{_where(first)}{_reason(first)} {what}{count}"
    if allowed:
        return Judgement("allowed", diff.kind, summary, RULES[allowed])
    return Judgement("regression", diff.kind, summary)


def _reason(item: Item) -> str:
    if item.channel == "link" and isinstance(item.payload, dict) and item.payload.get("reason"):
        return f" ({item.payload['reason']})"
    if item.event == Event.PROTOCOL_ERROR and isinstance(item.payload, dict):
        return f" {item.payload.get('error')}"
    return ""


def _allowed_presence(item: Item, channel: str) -> str:
    """The rule that lets ``item`` be there on one side only, or ''."""
    payload = item.payload if isinstance(item.payload, dict) else {}
    if item.event == Event.DRONE_RECOVERED and payload.get("chatSessionId") is None:
        return "11.5"
    if UNKNOWN_WORK_ORDER in str(payload.get("workOrderId")):
        return "11.7"
    if AFTER_UNKNOWN_WORK_ORDER in item.tags:
        return "11.7"
    if item.event == Event.DRONE_STATUS and payload.get("status") == DroneStatus.BUSY:
        # An IDE that leaves right after the ack of its lock may miss the busy status
        # the relay sent after the ack, which 11.4 allows.
        return "11.4"
    if channel == "receive" and item.event == Event.SUBMIT_PROMPT \
            and isinstance(payload.get("prompt"), str) and not payload["prompt"].strip():
        return "11.8"
    return ""


def _reordered(diff: StepDiff) -> Judgement:
    """A different order of what both sides have: a regression when the candidate delivers
    the events of one work order out of their order (``seq`` falling or repeating, an event
    after the completion) and the baseline does not; allowed otherwise, as an order across
    work orders and other events (section 5 keeps the order per work order only). Each side
    is judged on its own run's work orders: no numbering is shared between runs."""
    first = (diff.baseline or diff.candidate)[0]
    if _out_of_order(diff.candidate) and not _out_of_order(diff.baseline):
        return Judgement("regression", "reordered",
                         f"{first.actor}: events of one work order arrive in another order "
                         f"(first moved: {diff.event})")
    return Judgement("allowed", "reordered",
                     f"{first.actor}: {diff.event} arrives in another place among events "
                     "of other work orders or drones", RULES["5"])


def _out_of_order(items: Sequence[Item]) -> bool:
    """True when some work order's events, in arrival order, do not rise by ``seq`` or
    go on after its ``workOrderComplete``."""
    last: dict[str, int] = {}
    done: set[str] = set()
    for item in items:
        if item.group is None:
            continue
        if item.group in done:
            return True
        if item.event == Event.WORK_ORDER_COMPLETE:
            done.add(item.group)
            continue
        seq = item.payload.get("seq") if isinstance(item.payload, dict) else None
        if isinstance(seq, int):
            if seq <= last.get(item.group, -1):
                return True
            last[item.group] = seq
    return False


def _changed(before: Item, after: Item, changes: Sequence[FieldChange],
             channel: str) -> Judgement:
    """A body that changed: each field change judged, the worst one wins."""
    where = _where(before)
    code_before, code_after = answer_code(before.answer), answer_code(after.answer)
    if channel == "emit" and code_before != code_after and code_before and code_after:
        return _code_change(before, code_before, code_after, where)
    if channel == "http" and isinstance(before.answer, dict) \
            and isinstance(after.answer, dict) \
            and before.answer.get("status") != after.answer.get("status"):
        status = f"HTTP {before.answer.get('status')} → {after.answer.get('status')}"
        return Judgement("regression", "error-code", f"{where}: {status}")
    if channel == "link" and before.event == "connect_error":
        return _refusal(before, after, where)
    rules: list[str] = []
    for change in changes:
        rule = _field_rule(change, before)
        if rule is None:
            return Judgement("regression", "payload",
                             f"{where}: {_field_words(change)}")
        rules.append(rule)
    names = sorted({RULES[r] for r in rules})
    what = ", ".join(_field_words(c) for c in changes[:3])
    more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
    return Judgement("allowed", "payload", f"{where}: {what}{more}", "; ".join(names))


def _refusal(before: Item, after: Item, where: str) -> Judgement:
    """A refused connection: the reason code is contract, the text is free (11.9)."""
    def codes(item: Item) -> set[str]:
        text = json.dumps(item.payload, default=str)
        return {code for code in AUTH_ERRORS if code in text}

    was, now = codes(before), codes(after)
    if was and was == now:
        return Judgement("allowed", "payload", f"{where}: another refusal text, the same "
                         f"reason ({', '.join(sorted(now))})", RULES["11.9"])
    return Judgement("regression", "error-code", f"{where}: refusal reason "
                     f"{', '.join(sorted(was)) or 'none'} → {', '.join(sorted(now)) or 'none'}")


def _code_change(item: Item, before: str, after: str, where: str) -> Judgement:
    summary = f"{where}: ack {before} → {after}"
    pair = {before, after}
    if pair == {ErrorCode.FORBIDDEN, NO_ACK} or pair == {"<no ack>", ErrorCode.FORBIDDEN}:
        return Judgement("allowed", "error-code", summary, RULES["11.6"])
    if ErrorCode.FORBIDDEN not in pair and "ok" not in pair \
            and not any(code.startswith("<") for code in pair):
        # Any applicable code: the scenario's own assertions judge which apply (a changed
        # code in a scenario that now fails is made a regression by the caller).
        return Judgement("allowed", "error-code", summary, RULES["11.1"])
    payload = item.payload if isinstance(item.payload, dict) else {}
    if item.event == Event.SUBMIT_PROMPT and pair == {"ok", ErrorCode.INVALID_PAYLOAD} \
            and isinstance(payload.get("prompt"), str) and not payload["prompt"].strip():
        return Judgement("allowed", "error-code", summary, RULES["11.8"])
    if item.event == Event.REQUEST_SESSION_LOCK and LOCK_WHILE_PENDING in item.tags \
            and ErrorCode.DRONE_LOCKED in pair:
        return Judgement("allowed", "error-code", summary, RULES["4"])
    return Judgement("regression", "error-code", summary)


def _field_rule(change: FieldChange, item: Item) -> str | None:
    """The rule that allows one field change, or None."""
    leaf = change.path.rsplit(".", 1)[-1]
    if change.kind == "added":
        if leaf == "_id" or leaf == "id":
            return "11.2id"
        return "11.2"
    if change.kind == "removed":
        if leaf in ("id", "_id"):
            return "11.2id"
        if item.channel == "http" and item.event.endswith(Route.DEBUG_SESSIONS) \
                and ".maps." in change.path:
            return "10"
        return None
    if leaf == "message" or change.path.endswith("data.message") \
            or (item.channel == "link" and item.event == "connect-error"):
        return "11.9"
    if isinstance(change.before, str) and isinstance(change.after, str) \
            and change.before.startswith("<time") and change.after.startswith("<time"):
        return "11.3"
    return None


def _field_words(change: FieldChange) -> str:
    if change.kind == "added":
        return f"field {change.path} added"
    if change.kind == "removed":
        return f"field {change.path} removed (was {_short(change.before)})"
    if change.kind == "type":
        return f"{change.path} changed type: {_short(change.before)} → {_short(change.after)}"
    return f"{change.path} {_short(change.before)} → {_short(change.after)}"


def _short(value: Any, limit: int = 40) -> str:
    if value is MISSING or value == MISSING:
        return "absent"
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit - 1] + "…"
