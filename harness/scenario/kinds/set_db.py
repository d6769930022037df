"""``set_db``: put a registration or work order of this run into a given state.

For states no client can produce while the relay runs, such as a registration left
``online`` with no socket (what a relay killed before it could record its disconnects
leaves behind). Only documents of this run are written: a registration seeded with this
run's id, or a work order of one of those registrations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bson import ObjectId
from pymongo.errors import PyMongoError

from harness.errors import DatabaseError
from harness.outcome.results import fail
from harness.protocol import SEED_RUN_FIELD, Collection, DroneStatus, WorkOrderStatus, is_object_id
from harness.scenario.context import Run
from harness.scenario.kinds.base import UNSET, ErrorSink, StepKind
from harness.scenario.model import Step

REGISTRATION_STATUSES: Final = (DroneStatus.OFFLINE, DroneStatus.ONLINE, DroneStatus.BUSY)
WORK_ORDER_STATUSES: Final = (WorkOrderStatus.PENDING, WorkOrderStatus.RUNNING,
                              WorkOrderStatus.COMPLETE, WorkOrderStatus.FAILED,
                              WorkOrderStatus.ABORTED)


@dataclass(frozen=True)
class SetDbArgs:
    """One document (``registration`` or ``work_order`` id) and the fields to set."""

    registration: Any = UNSET
    work_order: Any = UNSET
    status: Any = UNSET
    locked_by: Any = UNSET

    @property
    def kind(self) -> str:
        """``registration`` or ``work_order``."""
        return "registration" if self.registration is not UNSET else "work_order"


def _id(what: str, value: Any) -> ObjectId:
    if not is_object_id(value):
        raise fail(f"set_db: {what} {value!r} is not an id (24 hex digits)", kind="error")
    return ObjectId(value)


def update_of(run: Run, args: SetDbArgs) -> tuple[str, str, ObjectId, dict[str, Any]]:
    """(collection, what, _id, $set fields) of a ``set_db`` step; raises ``StepFailed``."""
    kind = args.kind
    ident = run.render(args.registration if kind == "registration" else args.work_order)
    what = f"{kind.replace('_', ' ')} {ident}"
    oid = _id(kind.replace("_", " "), ident)
    allowed = REGISTRATION_STATUSES if kind == "registration" else WORK_ORDER_STATUSES
    fields: dict[str, Any] = {}
    if args.status is not UNSET:
        status = run.render(args.status)
        if status not in allowed:
            raise fail(f"set_db: status {status!r} is not a {kind.replace('_', ' ')} status; "
                       f"allowed: {', '.join(allowed)}", kind="error")
        fields["status"] = status
    if args.locked_by is not UNSET:
        locked_by = run.render(args.locked_by)
        fields["lockedBy"] = None if locked_by is None else _id("locked_by", locked_by)
    collection = Collection.DRONE_REGISTRATIONS if kind == "registration" \
        else Collection.WORK_ORDERS
    return collection, what, oid, fields


async def set_db(run: Run, step: Step) -> None:
    """Set fields of one registration or work order of this run (fails on any other)."""
    collection, what, oid, fields = update_of(run, step.args)
    db = run.db
    try:
        document = await db[collection].find_one({"_id": oid})
        if document is None:
            raise fail(f"set_db: {what} is not in the database", kind="error")
        registration = document.get("registration") if collection == Collection.WORK_ORDERS \
            else oid
        owner = await db[Collection.DRONE_REGISTRATIONS].find_one(
            {"_id": registration, SEED_RUN_FIELD: run.world.run_id}, {"_id": 1})
        if owner is None:
            raise fail(f"set_db: {what} is not of this run's world; only its own documents "
                       "may be written", kind="error")
        await db[collection].update_one({"_id": oid}, {"$set": fields})
    except PyMongoError as exc:
        raise DatabaseError(f"set_db: writing {what} failed: {exc}") from exc


def _check(args: Mapping[str, Any], error: ErrorSink) -> None:
    kind = "registration" if "registration" in args else "work_order"
    if kind == "work_order" and "locked_by" in args:
        error(("locked_by",), "a work order has no lock; locked_by is for registrations")
    allowed = REGISTRATION_STATUSES if kind == "registration" else WORK_ORDER_STATUSES
    status = args.get("status")
    if isinstance(status, str) and "${" not in status and status not in allowed:
        error(("status",), f"{status!r} is not a {kind.replace('_', ' ')} status; "
              f"allowed: {', '.join(allowed)}")


KINDS = (
    StepKind(
        name="set_db", order=16,
        summary="Set fields of a registration or work order of this run (states no client "
                "can produce, such as online with no socket).",
        schema={
            "type": "object",
            "properties": {
                "registration": {"type": "string"},
                "work_order": {"type": "string"},
                "status": {"type": "string", "description": (
                    "registration: offline, online, busy; work order: pending, running, "
                    "complete, failed, aborted.")},
                "locked_by": {"type": ["string", "null"],
                              "description": "a chat session id, or null (registrations only)."},
            },
            "additionalProperties": False,
            "description": "Set fields of a registration or work order of this run (states "
                           "no client can produce, such as online with no socket).",
            "oneOf": [{"required": ["registration"]}, {"required": ["work_order"]}],
            "anyOf": [{"required": ["status"]}, {"required": ["locked_by"]}],
        },
        reference="`registration: <id>` with `status` (`offline`/`online`/`busy`) and/or "
                  "`locked_by` (a chat session id or `null`), or `work_order: <id>` with "
                  "`status`: write that state into the database, for states no client can "
                  "produce (a registration `online` with no socket, what a killed relay "
                  "leaves behind). Only this run's documents: a registration of its world, or "
                  "a work order of one",
        args=SetDbArgs, handler=set_db, check=_check),
)
