"""``check_db``: a registration's or work order's document in the database, checked once
(``wait_until: {db: ...}`` polls the same check)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.errors import PyMongoError

from harness.errors import DatabaseError
from harness.outcome.findings import Mismatch
from harness.outcome.results import StepFailed, fail
from harness.outcome.wording import notes
from harness.protocol import Collection, is_object_id
from harness.scenario import hints
from harness.scenario.context import Run
from harness.scenario.kinds.base import UNSET, ErrorSink, StepKind, build
from harness.scenario.matchers import MatchResult, match
from harness.scenario.model import Step
from harness.text import plain


@dataclass(frozen=True)
class DbSpec:
    """One document (``registration`` or ``work_order`` id) and what it must hold."""

    registration: Any = UNSET
    work_order: Any = UNSET
    status: Any = UNSET
    locked_by: Any = UNSET
    document: Any = UNSET


def parse_spec(raw: Mapping[str, Any]) -> DbSpec:
    """The typed spec of a written ``check_db`` (or ``wait_until: {db}``) mapping."""
    return build(DbSpec, raw)


DbState = tuple[str, Any, Any, MatchResult]
"""(what, expected, actual document, result) of one database check."""


async def db_state(run: Run, spec: DbSpec) -> DbState:
    """(what, expected, actual document, result) of one database check."""
    kind = "registration" if spec.registration is not UNSET else "work_order"
    collection = Collection.DRONE_REGISTRATIONS if kind == "registration" \
        else Collection.WORK_ORDERS
    ident = run.render(spec.registration if kind == "registration" else spec.work_order)
    what = f"{kind.replace('_', ' ')} {ident}"
    if not is_object_id(ident):
        raise fail(f"{what}: not an id (24 hex digits)", kind="error")
    try:
        document = await run.db[collection].find_one({"_id": ObjectId(ident)})
    except PyMongoError as exc:
        raise DatabaseError(f"reading {what} from {collection} failed: {exc}") from exc
    expected: dict[str, Any] = {}
    if spec.status is not UNSET:
        expected["status"] = run.render(spec.status)
    if spec.locked_by is not UNSET:
        expected["lockedBy"] = run.render(spec.locked_by)
    actual = plain(document)
    if document is None:
        return what, expected, None, MatchResult((Mismatch("", "a document", None, True),))
    result = match(expected, actual)
    if spec.document is not UNSET and result:
        result = match(run.render(spec.document), actual)
    return what, expected, actual, result


def db_failure(state: DbState, waited: float | None, run: Run, spec: DbSpec) -> StepFailed:
    """The failure of a database check that did not hold, with what the history says about
    it (a drone a fault silenced that the relay still counts online)."""
    what, expected, actual, result = state
    if actual is None:
        return fail(f"{what} is not in the database", expected=expected, actual=None)
    first = result.mismatches[0]
    field = first.path or "document"
    headline = f"{what} has {field} {_quote(first.actual)}, expected {first.expected}"
    if waited is not None:
        headline += f" (waited {waited:g} s)"
    fact = None if spec.registration is UNSET else \
        hints.kept_silent(run, run.render(spec.registration), expected, actual)
    shown = {k: actual.get(k) for k in ("status", "lockedBy", "completedAt") if k in actual}
    return fail(headline + notes([fact]), compared=True, expected=expected,
                actual=shown or actual, mismatches=result.mismatches, facts=[fact])


def _quote(value: Any) -> str:
    return "null" if value is None else repr(value)


def check_spec(spec: Mapping[str, Any], error: ErrorSink) -> None:
    """A work order has no lock."""
    if "work_order" in spec and "locked_by" in spec:
        error(("locked_by",), "a work order has no lock; locked_by is for registrations")


async def check_db(run: Run, step: Step) -> None:
    """Check a registration's or work order's document once."""
    state = await db_state(run, step.args)
    if not state[3]:
        raise db_failure(state, None, run, step.args)
    run.capture(state[3])


KINDS = (
    StepKind(
        name="check_db", order=14,
        summary="A registration's or a work order's document, checked once.",
        schema={"$ref": "#/$defs/db"},
        reference="`registration: <id>` with `status`, `locked_by`, or `work_order: <id>` "
                  "with `status`; `document` matches the whole document (ids as hex strings, "
                  "dates ISO)",
        args=DbSpec, handler=check_db, check=check_spec,
        matchers=(("status",), ("locked_by",), ("document",))),
)
