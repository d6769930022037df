"""``wait_until``: poll until the database, the relay's session maps or the drones reach
a state (there is no fixed sleep step)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ScenarioTimeout
from harness.outcome.facts import Fact
from harness.outcome.results import fail
from harness.outcome.wording import notes
from harness.scenario import hints
from harness.scenario.context import DEFAULT_TIMEOUT, Run
from harness.scenario.kinds import check_db, check_sessions
from harness.scenario.kinds.base import (
    ACTORS,
    DRONE,
    DURATION,
    SOCKET,
    ErrorSink,
    StepKind,
    convert,
    names,
)
from harness.scenario.model import Step

POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class WaitUntilArgs:
    """Exactly one condition (``db``, ``sessions``, ``idle`` drones, actors ``connected``
    or ``disconnected``) and the ``timeout``."""

    db: check_db.DbSpec | None = field(default=None, metadata=convert(check_db.parse_spec))
    sessions: check_sessions.SessionsSpec | None = field(
        default=None, metadata=convert(check_sessions.parse_spec))
    idle: tuple[str, ...] = field(default=(), metadata=names())
    connected: tuple[str, ...] = field(default=(), metadata=names())
    disconnected: tuple[str, ...] = field(default=(), metadata=names())
    timeout: Any = None


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
    args: WaitUntilArgs = step.args
    timeout = run.seconds(args.timeout, DEFAULT_TIMEOUT)
    if args.idle:
        for name in args.idle:
            try:
                await run.drone(name).wait_idle(timeout)
            except ScenarioTimeout as exc:
                raise fail(f"{run.label(name)} was still streaming after {timeout:g} s",
                           kind="timeout") from exc
        return
    if args.connected or args.disconnected:
        await _connections(run, args.connected, args.disconnected, timeout)
        return
    if args.db is not None:
        spec = args.db
        state: check_db.DbState | None = None

        async def db_ready() -> bool:
            nonlocal state
            state = await check_db.db_state(run, spec)
            return bool(state[3])

        ready = await _poll(db_ready, timeout)
        assert state is not None
        if not ready:
            raise check_db.db_failure(state, timeout, run, spec)
        run.capture(state[3])
        return
    sessions = args.sessions
    assert sessions is not None
    problem: list[tuple[str, Fact | None] | None] = [None]

    async def sessions_ready() -> bool:
        problem[0] = await check_sessions.sessions_problem(run, sessions)
        return problem[0] is None

    if not await _poll(sessions_ready, timeout):
        text, fact = problem[0] or ("", None)
        raise fail(f"{text} (waited {timeout:g} s)", kind="timeout", facts=[fact])


async def _connections(run: Run, connected: tuple[str, ...], disconnected: tuple[str, ...],
                       timeout: float) -> None:
    """Wait until every actor of ``connected`` is connected (by itself, when it reconnects
    as socket.io-client does) and every one of ``disconnected`` is not."""
    def ready() -> bool:
        return all(run.socket(n).connected for n in connected) \
            and not any(run.socket(n).connected for n in disconnected)

    async def check() -> bool:
        return ready()

    if await _poll(check, timeout):
        return
    late = [n for n in connected if not run.socket(n).connected]
    if late:
        name = late[0]
        fact = hints.stranded(run, name)
        raise fail(f"{run.label(name)} was not connected again within {timeout:g} s"
                   + notes([fact]), kind="timeout", facts=[fact])
    name = next(n for n in disconnected if run.socket(n).connected)
    raise fail(f"{run.label(name)} was still connected (as {run.socket(name).sid}) after "
               f"{timeout:g} s", kind="timeout")


def _check(args: Mapping[str, Any], error: ErrorSink) -> None:
    if isinstance(args.get("db"), dict):
        check_db.check_spec(args["db"], lambda path, message: error(("db", *path), message))


KINDS = (
    StepKind(
        name="wait_until", order=13,
        summary="Wait until a condition holds (never a fixed sleep).",
        schema={
            "type": "object",
            "properties": {"db": {"$ref": "#/$defs/db"}, "idle": ACTORS,
                           "sessions": {"$ref": "#/$defs/sessions"}, "connected": ACTORS,
                           "disconnected": ACTORS, "timeout": DURATION},
            "additionalProperties": False,
            "description": "Wait until a condition holds (never a fixed sleep).",
            "oneOf": [{"required": ["db"]}, {"required": ["idle"]}, {"required": ["sessions"]},
                      {"required": ["connected"]}, {"required": ["disconnected"]}],
        },
        reference="one of `db: {...}` (as `check_db`), `sessions: {...}` (as "
                  "`check_sessions`), `idle: <drones>` (their scripts finished), "
                  "`connected: <actors>` (each connected: after a fault or a relay restart, "
                  "once it has reconnected by itself), `disconnected: <actors>`; `timeout` "
                  "(5 s). The condition is polled every 50 ms; there is no fixed sleep step",
        args=WaitUntilArgs, handler=wait_until,
        actors={"idle": DRONE, "connected": SOCKET, "disconnected": SOCKET}, check=_check,
        matchers=(("db", "status"), ("db", "locked_by"), ("db", "document"),
                  ("sessions", "size"))),
)
