"""The ``set_db`` step: put a registration or work order of this run into a given state.

For states no client can produce while the relay runs, such as a registration left
``online`` with no socket (what a relay killed before it could record its disconnects
leaves behind). Only documents of this run are written: a registration seeded with this
run's id, or a work order of one of those registrations.
"""

from __future__ import annotations

from typing import Any, Final

from bson import ObjectId
from pymongo.errors import PyMongoError

from harness.errors import DatabaseError
from harness.outcome.results import fail
from harness.protocol import SEED_RUN_FIELD, Collection, DroneStatus, WorkOrderStatus, is_object_id
from harness.scenario.context import Run
from harness.scenario.model import Step

__all__ = ["REGISTRATION_STATUSES", "WORK_ORDER_STATUSES", "set_db"]

REGISTRATION_STATUSES: Final = (DroneStatus.OFFLINE, DroneStatus.ONLINE, DroneStatus.BUSY)
WORK_ORDER_STATUSES: Final = (WorkOrderStatus.PENDING, WorkOrderStatus.RUNNING,
                              WorkOrderStatus.COMPLETE, WorkOrderStatus.FAILED,
                              WorkOrderStatus.ABORTED)


def _id(what: str, value: Any) -> ObjectId:
    if not is_object_id(value):
        raise fail(f"set_db: {what} {value!r} is not an id (24 hex digits)", kind="error")
    return ObjectId(value)


def update_of(run: Run, args: dict[str, Any]) -> tuple[str, str, ObjectId, dict[str, Any]]:
    """(collection, what, _id, $set fields) of a ``set_db`` step; raises ``StepFailed``."""
    kind = "registration" if "registration" in args else "work_order"
    ident = run.render(args[kind])
    what = f"{kind.replace('_', ' ')} {ident}"
    oid = _id(kind.replace("_", " "), ident)
    allowed = REGISTRATION_STATUSES if kind == "registration" else WORK_ORDER_STATUSES
    fields: dict[str, Any] = {}
    if "status" in args:
        status = run.render(args["status"])
        if status not in allowed:
            raise fail(f"set_db: status {status!r} is not a {kind.replace('_', ' ')} status; "
                       f"allowed: {', '.join(allowed)}", kind="error")
        fields["status"] = status
    if "locked_by" in args:
        locked_by = run.render(args["locked_by"])
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
