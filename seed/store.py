"""Write a planned world to MongoDB, and remove runs again: cleanup, list, gc.

Every document a run writes carries ``seedRunId``; cleanup deletes by that field, plus
the work orders the relay created (without ``seedRunId``) for the run's chat sessions or
drones. Nothing else is ever touched.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from harness.errors import DatabaseError, SeedError
from harness.protocol import ALL_COLLECTIONS, SEED_RUN_FIELD, Collection
from seed.connect import describe_error
from seed.factory import SEEDED_COLLECTIONS, WorldPlan, iso_utc, plan_world
from seed.runid import check_run_id, is_run_id, new_run_id, run_time
from seed.world import World, WorldSpec

logger = logging.getLogger(__name__)

# Ids per $in clause, so a huge run never builds a command past MongoDB's 16 MB limit.
_CHUNK: Final = 10_000


@dataclass(frozen=True)
class CleanupReport:
    """What ``cleanup`` deleted, per collection (every collection named, zeros included)."""

    run_id: str
    database: str
    deleted: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Documents deleted over every collection."""
        return sum(self.deleted.values())

    @property
    def found(self) -> bool:
        """False when the run had no document left (unknown, or already cleaned up)."""
        return self.total > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"runId", "database", "found", "deleted": {collection: n}}``."""
        return {"runId": self.run_id, "database": self.database, "found": self.found,
                "deleted": dict(self.deleted)}


@dataclass(frozen=True)
class RunInfo:
    """One run present in a database: when it was seeded and its documents per collection."""

    run_id: str
    created_at: datetime | None
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Documents of the run over every collection."""
        return sum(self.counts.values())

    def age(self, now: datetime | None = None) -> timedelta | None:
        """Time since the run was seeded, or None when that is unknown."""
        if self.created_at is None:
            return None
        return (now or datetime.now(UTC)) - self.created_at

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """JSON form: ``{"runId", "createdAt", "ageSeconds", "counts"}``."""
        age = self.age(now)
        return {
            "runId": self.run_id,
            "createdAt": iso_utc(self.created_at) if self.created_at else None,
            "ageSeconds": round(age.total_seconds()) if age is not None else None,
            "counts": dict(self.counts),
        }


@asynccontextmanager
async def _database_errors(db: AsyncDatabase[Any], action: str) -> AsyncIterator[None]:
    try:
        yield
    except PyMongoError as exc:
        raise DatabaseError(f"database {db.name}: {action} failed: {describe_error(exc)}") from None


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _aware(moment: object) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def build_world(
    db: AsyncDatabase[Any],
    spec: WorldSpec = WorldSpec(),  # noqa: B008 - frozen, so a shared default is safe
    run_id: str | None = None,
    *,
    faker_seed: int | None = None,
) -> World:
    """Seed one world into ``db`` and return it (ids and clear tokens).

    ``run_id`` defaults to a fresh ``run-<UTC time>-<hex>``; ``faker_seed`` makes the
    names repeatable. Nothing is half-written: on failure, what this run wrote is removed
    before the error is raised. Raises ``SpecError`` (bad run id), ``SeedError`` (run id
    already present, or a write failed) and ``DatabaseError`` (database unreachable).
    """
    plan = plan_world(spec, check_run_id(run_id) if run_id is not None else new_run_id(),
                      db.name, faker_seed=faker_seed)
    await write_plan(db, plan)
    return plan.world


async def write_plan(db: AsyncDatabase[Any], plan: WorldPlan) -> None:
    """Insert a planned world, one ordered ``insert_many`` per collection, parents first.

    Refuses a run id that already has documents. On any failure (including cancellation)
    deletes the documents of this plan that reached the database, then raises.
    """
    run_id = plan.world.run_id
    async with _database_errors(db, f"checking run id {run_id}"):
        for name in SEEDED_COLLECTIONS:
            if await db[name].find_one({SEED_RUN_FIELD: run_id}, {"_id": 1}) is not None:
                raise SeedError(
                    f"run id {run_id} already has documents in database {db.name}"
                    f" ({name}); choose another run id or run `harness seed cleanup {run_id}`"
                )
    current = SEEDED_COLLECTIONS[0]
    try:
        for current in SEEDED_COLLECTIONS:
            if plan.documents[current]:
                await db[current].insert_many(plan.documents[current], ordered=True)
    except BaseException as exc:
        await _roll_back(db, plan, current, exc)
        raise
    logger.debug("seeded run %s into database %s: %d documents", run_id, db.name,
                sum(len(docs) for docs in plan.documents.values()))


async def _roll_back(
    db: AsyncDatabase[Any], plan: WorldPlan, failed_at: str, exc: BaseException
) -> None:
    """Delete what ``plan`` wrote (by ``_id`` and run id), then convert ``exc``."""
    run_id = plan.world.run_id
    cause = describe_error(exc) if isinstance(exc, Exception) else type(exc).__name__
    removed = 0
    try:
        for name in reversed(SEEDED_COLLECTIONS):
            for ids in _chunks(plan.ids(name)):
                result = await db[name].delete_many(
                    {"_id": {"$in": ids}, SEED_RUN_FIELD: run_id})
                removed += result.deleted_count
    except PyMongoError as undo_exc:
        logger.error("run %s: could not remove its partial writes: %s", run_id,
                     describe_error(undo_exc))
        if isinstance(exc, Exception):
            raise SeedError(
                f"seeding run {run_id} into database {db.name} failed at {failed_at}: {cause};"
                f" could not remove what it wrote ({describe_error(undo_exc)}):"
                f" run `harness seed cleanup {run_id}`"
            ) from None
        return
    logger.warning("run %s failed at %s (%s); removed the %d documents it had written",
                   run_id, failed_at, cause, removed)
    if isinstance(exc, Exception):
        raise SeedError(
            f"seeding run {run_id} into database {db.name} failed at {failed_at}: {cause};"
            f" removed the {removed} documents it had written"
        ) from None


async def _ids(db: AsyncDatabase[Any], collection: str, run_id: str) -> list[Any]:
    """The run's ``_id``s in ``collection``, in ObjectId and 24-hex string forms."""
    ids: list[Any] = []
    async for doc in db[collection].find({SEED_RUN_FIELD: run_id}, {"_id": 1}):
        ids.append(doc["_id"])
        if isinstance(doc["_id"], ObjectId):
            ids.append(str(doc["_id"]))
    return ids


async def cleanup(db: AsyncDatabase[Any], run_id: str) -> CleanupReport:
    """Delete every document of ``run_id``, and the work orders of its chat sessions/drones.

    Never touches a document of another run or one without ``seedRunId`` (except those
    work orders). Idempotent: an unknown or already-cleaned run deletes nothing and
    reports ``found`` False. Raises ``SpecError`` (bad id) and ``DatabaseError``.
    """
    check_run_id(run_id)
    deleted = dict.fromkeys(ALL_COLLECTIONS, 0)
    async with _database_errors(db, f"cleanup of run {run_id}"):
        # Work orders first: they are found through the chat sessions and drones.
        chats = await _ids(db, Collection.CHAT_SESSIONS, run_id)
        drones = await _ids(db, Collection.DRONE_REGISTRATIONS, run_id)
        orders = db[Collection.WORK_ORDERS]
        result = await orders.delete_many({SEED_RUN_FIELD: run_id})
        deleted[Collection.WORK_ORDERS] += result.deleted_count
        for key, ids in (("chatSession", chats), ("registration", drones)):
            for chunk in _chunks(ids):
                result = await orders.delete_many({SEED_RUN_FIELD: None, key: {"$in": chunk}})
                deleted[Collection.WORK_ORDERS] += result.deleted_count
        for name in reversed(SEEDED_COLLECTIONS):
            result = await db[name].delete_many({SEED_RUN_FIELD: run_id})
            deleted[name] += result.deleted_count
    report = CleanupReport(run_id=run_id, database=db.name, deleted=deleted)
    if report.found:
        logger.debug("cleaned up run %s in database %s: %d documents", run_id, db.name,
                    report.total)
    else:
        logger.debug("run %s: nothing to delete in database %s", run_id, db.name)
    return report


async def list_runs(db: AsyncDatabase[Any]) -> tuple[RunInfo, ...]:
    """Every run with documents in ``db``, oldest first, with its documents per collection.

    A run's time is the earliest ``createdAt`` of its documents (else the time in a
    generated run id, else unknown). Raises ``DatabaseError``.
    """
    counts: dict[str, dict[str, int]] = {}
    created: dict[str, datetime] = {}
    pipeline: list[dict[str, Any]] = [
        {"$match": {SEED_RUN_FIELD: {"$type": "string"}}},
        {"$group": {"_id": f"${SEED_RUN_FIELD}", "n": {"$sum": 1},
                    "createdAt": {"$min": "$createdAt"}}},
    ]
    async with _database_errors(db, "listing runs"):
        for name in ALL_COLLECTIONS:
            async for row in await db[name].aggregate(pipeline):
                run_id = str(row["_id"])
                counts.setdefault(run_id, dict.fromkeys(ALL_COLLECTIONS, 0))[name] = row["n"]
                moment = _aware(row.get("createdAt"))
                if moment is not None and (run_id not in created or moment < created[run_id]):
                    created[run_id] = moment
    runs = [RunInfo(run_id, created.get(run_id) or run_time(run_id), per)
            for run_id, per in counts.items()]
    far_future = datetime.max.replace(tzinfo=UTC)
    return tuple(sorted(runs, key=lambda r: (r.created_at or far_future, r.run_id)))


async def gc_candidates(
    db: AsyncDatabase[Any], older_than: timedelta, *, now: datetime | None = None
) -> tuple[tuple[RunInfo, ...], tuple[RunInfo, ...]]:
    """What ``gc`` would do: the runs it removes, and the ``seedRunId`` values it leaves.

    The first are the runs seeded more than ``older_than`` before ``now``; the second, of
    any age, are values that are not run ids (``""``, ``"$ne"``, ...): harness seed never
    writes them, so their documents are not of a seed run and gc never deletes them.
    """
    if older_than <= timedelta(0):
        raise SeedError(f"gc --older-than: must be a positive duration, got {older_than}")
    moment = now or datetime.now(UTC)
    stale: list[RunInfo] = []
    foreign: list[RunInfo] = []
    for run in await list_runs(db):
        age = run.age(moment)
        if not is_run_id(run.run_id):
            foreign.append(run)
        elif age is None:
            logger.warning("run %s has no creation time; gc leaves it alone", run.run_id)
        elif age > older_than:
            stale.append(run)
    return tuple(stale), tuple(foreign)


async def stale_runs(
    db: AsyncDatabase[Any], older_than: timedelta, *, now: datetime | None = None
) -> tuple[RunInfo, ...]:
    """The runs ``gc`` would remove: seeded more than ``older_than`` before ``now``.

    Only runs whose id is a run id: other ``seedRunId`` values are never of a seed run.
    """
    stale, _foreign = await gc_candidates(db, older_than, now=now)
    return stale


def describe_foreign(foreign: Iterable[RunInfo], *, examples: int = 5) -> str:
    """One line about ``seedRunId`` values that are not run ids: how many, a few of them."""
    runs = list(foreign)
    shown = [repr(r.run_id if len(r.run_id) <= 40 else r.run_id[:37] + "...")
             for r in runs[:examples]]
    more = f" and {len(runs) - examples} more" if len(runs) > examples else ""
    documents = sum(r.total for r in runs)
    values = "value that is not a run id" if len(runs) == 1 \
        else "values that are not run ids"
    return (f"left alone {documents} document{'s' if documents != 1 else ''} under "
            f"{len(runs)} seedRunId {values} ({', '.join(shown)}{more}): harness seed did "
            "not write them")


async def gc(
    db: AsyncDatabase[Any], older_than: timedelta, *, now: datetime | None = None
) -> tuple[CleanupReport, ...]:
    """Clean up every run seeded more than ``older_than`` ago (abandoned by crashed jobs).

    Runs of unknown age are left alone, and so are documents whose ``seedRunId`` is not a
    run id (logged as a warning). Raises ``SeedError`` for a non-positive ``older_than``
    and ``DatabaseError``.
    """
    stale, foreign = await gc_candidates(db, older_than, now=now)
    if foreign:
        logger.warning("gc in database %s: %s", db.name, describe_foreign(foreign))
    return tuple([await cleanup(db, run.run_id) for run in stale])
