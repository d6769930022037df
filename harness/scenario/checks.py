"""Steps that look at the world beside the sockets: HTTP calls, the database, the relay's
session maps, waits for a condition, and relay restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from pymongo.errors import PyMongoError

from harness.errors import DatabaseError, ScenarioTimeout
from harness.outcome.findings import Mismatch
from harness.outcome.results import StepFailed, StepSkipped, fail
from harness.protocol import TERMINATE_PATH as _TERMINATE
from harness.protocol import Collection, Event, is_object_id
from harness.scenario import hints
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.introspection import fetch_sessions
from harness.scenario.matchers import MatchResult, match
from harness.scenario.model import Step
from harness.scenario.steps import names_of
from harness.text import plain as _plain

POLL_INTERVAL = 0.05
HTTP_TIMEOUT = 15.0


async def http(run: Run, step: Step) -> None:
    """Make an HTTP call and match its status and body."""
    args = step.args
    actor = run.http(args.get("actor"))
    token = run.render(args["token"]) if "token" in args else run.cast.tokens.get(actor.name)
    method, path = args["method"], str(run.render(args["path"]))
    since = len(run.history)
    result = await actor.request(method, path, token=token,
                                 headers=run.render(args.get("headers")),
                                 json=run.render(args.get("json")),
                                 timeout=run.seconds(args.get("timeout"), HTTP_TIMEOUT))
    expected = run.render(args.get("expect", {}))
    actual = {"status": result.status, "body": result.body}
    outcome = match(expected, actual)
    if outcome:
        run.capture(outcome)
        return
    status_wrong = any(m.path == "status" for m in outcome.mismatches)
    error = hints.error_text(result.body)
    answered = f"{result.status} {error}" if error else str(result.status)
    what = f"answered {answered}, expected {_statuses(expected.get('status'))}" if status_wrong \
        else f"answered {answered} with a body that did not match"
    raise fail(f"{method} {path} {what}{_terminate_note(run, path, result.body, since)}",
               compared=True, expected=expected, actual=actual, mismatches=outcome.mismatches)


def _statuses(expected: Any) -> str:
    """``404``, or ``401 or 400`` for a ``$one_of``."""
    alternatives = expected.get("$one_of") if isinstance(expected, dict) else None
    if isinstance(alternatives, list):
        return " or ".join(str(a) for a in alternatives)
    return str(expected)


def _terminate_note(run: Run, path: str, body: Any, since: int) -> str:
    """For a terminate call of a drone this run holds: connected after all, and whether
    requestTermination reached it during the call."""
    found = _TERMINATE.search(path)
    if found is None:
        return ""
    registration = found.group(1).lower()
    error = body.get("error") if isinstance(body, dict) else None
    name = hints.drone_named(run, registration)
    if name is None:
        return ""
    if not run.drone(name).connected and not hints.received_since(
            run, name, Event.REQUEST_TERMINATION, since):
        return hints.gone_note(run, registration, error)
    return hints.connected_note(run, registration, error) + \
        hints.never_reached(run, registration, Event.REQUEST_TERMINATION, since)


async def _db_state(run: Run, spec: dict[str, Any]) -> tuple[str, Any, Any, MatchResult]:
    """(what, expected, actual document, result) of one database check."""
    kind = "registration" if "registration" in spec else "work_order"
    collection = Collection.DRONE_REGISTRATIONS if kind == "registration" \
        else Collection.WORK_ORDERS
    ident = run.render(spec[kind])
    what = f"{kind.replace('_', ' ')} {ident}"
    if not is_object_id(ident):
        raise fail(f"{what}: not an id (24 hex digits)", kind="error")
    try:
        document = await run.db[collection].find_one({"_id": ObjectId(ident)})
    except PyMongoError as exc:
        raise DatabaseError(f"reading {what} from {collection} failed: {exc}") from exc
    expected: dict[str, Any] = {}
    if "status" in spec:
        expected["status"] = run.render(spec["status"])
    if "locked_by" in spec:
        expected["lockedBy"] = run.render(spec["locked_by"])
    actual = _plain(document)
    if document is None:
        return what, expected, None, MatchResult((Mismatch("", "a document", None, True),))
    result = match(expected, actual)
    if "document" in spec and result:
        result = match(run.render(spec["document"]), actual)
    return what, expected, actual, result


def _db_failure(what: str, expected: Any, actual: Any, result: MatchResult,
                waited: float | None) -> StepFailed:
    if actual is None:
        return fail(f"{what} is not in the database", expected=expected, actual=None)
    first = result.mismatches[0]
    field = first.path or "document"
    headline = f"{what} has {field} {_quote(first.actual)}, expected {first.expected}"
    if waited is not None:
        headline += f" (waited {waited:g} s)"
    shown = {k: actual.get(k) for k in ("status", "lockedBy", "completedAt") if k in actual}
    return fail(headline, compared=True, expected=expected, actual=shown or actual,
                mismatches=result.mismatches)


def _quote(value: Any) -> str:
    return "null" if value is None else repr(value)


async def check_db(run: Run, step: Step) -> None:
    """Check a registration's or work order's document once."""
    what, expected, actual, result = await _db_state(run, step.args)
    if not result:
        raise _db_failure(what, expected, actual, result, None)
    run.capture(result)


async def _check_sessions(run: Run, spec: dict[str, Any]) -> str | None:
    """None when the maps match ``spec``, else what is wrong; raises ``StepSkipped``."""
    snapshot = await fetch_sessions(run.env.relay_url, run.env.admin_token)
    if snapshot.refused:
        raise fail(f"cannot check the relay's session maps: {snapshot.reason}", kind="error")
    if not snapshot.available:
        raise StepSkipped(snapshot.reason)
    name = spec["map"]
    keys = snapshot.keys(name)
    if keys is None:
        raise StepSkipped(snapshot.missing(name))
    for key in run.render(spec.get("has", [])):
        if str(key) not in keys:
            return f"the relay's {name} map lacks {key} (keys: {', '.join(keys) or 'none'})"
    for key in run.render(spec.get("lacks", [])):
        if str(key) in keys:
            return f"the relay's {name} map still holds {key}"
    if "size" in spec:
        result = match(run.render(spec["size"]), snapshot.size(name))
        if not result:
            return f"the relay's {name} map has size {snapshot.size(name)}: {result.mismatches[0]}"
    return None


async def check_sessions(run: Run, step: Step) -> None:
    """Check the relay's session maps once (skipped without introspection)."""
    problem = await _check_sessions(run, step.args)
    if problem:
        raise fail(problem)


async def _poll(until: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await until():
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)


async def wait_until(run: Run, step: Step) -> None:
    """Wait until the database, the session maps or the drones reach a state."""
    args = step.args
    timeout = run.seconds(args.get("timeout"), DEFAULT_TIMEOUT)
    if "idle" in args:
        for name in names_of(args["idle"]):
            try:
                await run.drone(name).wait_idle(timeout)
            except ScenarioTimeout as exc:
                raise fail(f"{run.label(name)} was still streaming after {timeout:g} s",
                           kind="timeout") from exc
        return
    if "db" in args:
        state: tuple[str, Any, Any, MatchResult] | None = None

        async def db_ready() -> bool:
            nonlocal state
            state = await _db_state(run, args["db"])
            return bool(state[3])

        ready = await _poll(db_ready, timeout)
        assert state is not None
        what, expected, actual, result = state
        if not ready:
            raise _db_failure(what, expected, actual, result, waited=timeout)
        run.capture(result)
        return
    problem: list[str | None] = [None]

    async def sessions_ready() -> bool:
        problem[0] = await _check_sessions(run, args["sessions"])
        return problem[0] is None

    if not await _poll(sessions_ready, timeout):
        raise fail(f"{problem[0]} (waited {timeout:g} s)", kind="timeout")


async def restart_relay(run: Run, step: Step) -> None:
    """Restart the relay process (environments that support it)."""
    if not run.env.supports_restart:
        raise fail(f"this environment cannot restart the relay ({run.env.describe()})",
                   kind="error")
    timeout = run.seconds((step.args or {}).get("timeout"), 30.0)
    try:
        async with asyncio.timeout(timeout):
            await run.env.restart_relay()
    except TimeoutError:
        raise fail(f"the relay did not restart within {timeout:g} s", kind="timeout") from None
