"""Run one scenario: seed a fresh world, run the steps, settle, tear down, check the
invariants, and clean the world up whatever happened (failure, timeout, interruption)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from pymongo import AsyncMongoClient

from harness.env.base import Environment
from harness.errors import EnvError, ExpectationFailed, HarnessError, ScenarioTimeout
from harness.outcome.findings import Violation
from harness.outcome.results import (
    Failure,
    FailureKind,
    ScenarioResult,
    StepFailed,
    StepResult,
    StepSkipped,
)
from harness.protocol import SESSION_MAPS
from harness.scenario.actors import build_cast
from harness.scenario.context import Run
from harness.scenario.introspection import fetch_sessions
from harness.scenario.invariants import (
    CheckContext,
    check_history,
    check_leaks,
    check_secrets,
)
from harness.scenario.kinds import REGISTRY
from harness.scenario.kinds.groups import run_in_order
from harness.scenario.kinds.wait_until import POLL_INTERVAL
from harness.scenario.model import Scenario, Step
from harness.scenario.network import Network, uses_faults
from harness.scenario.templating import TemplateContext
from harness.sim import MessageHistory, SimDrone, SimIDE
from seed import build_world, cleanup

log = logging.getLogger(__name__)

LEAK_WAIT = 3.0  # seconds the relay gets to forget clients that left
# Once no map holds a socket id of ours, the relay has seen every disconnect: what is left
# after this grace (for relays that clean their indexes a little later) is a leak.
LEAK_GRACE = 0.5


async def execute(run: Run, step: Step) -> StepResult:
    """Run one step and return its result; never raises except on cancellation."""
    result = StepResult(step, status="passed", started=run.elapsed())
    run.history.record("harness", "harness", "note", "step", step.title,
                       line=step.source.line, label=step.label)
    began = time.monotonic()
    try:
        step_kind = REGISTRY[step.kind]
        if step_kind.group is not None:
            await step_kind.group(run, step, result, execute)
        else:
            assert step_kind.handler is not None
            await step_kind.handler(run, step)
    except StepSkipped as exc:
        result.status, result.note = "skipped", str(exc)
    except StepFailed as exc:
        result.status = "error" if exc.failure.kind == "error" else "failed"
        result.failure = exc.failure
    except (ExpectationFailed, ScenarioTimeout) as exc:
        kind: FailureKind = "timeout" if isinstance(exc, ScenarioTimeout) else "expectation"
        result.status, result.failure = "failed", Failure(kind, str(exc))
    except HarnessError as exc:
        result.status, result.failure = "error", Failure("error", str(exc))
    finally:
        result.duration = time.monotonic() - began
    if result.failure is not None and result.failure.step is None:
        result.failure = dataclasses.replace(result.failure, step=step.title,
                                             source=step.source, at=run.elapsed(),
                                             used_at=step.used_at)
    return result


async def run_scenario(scenario: Scenario, env: Environment, *,
                       history: MessageHistory | None = None,
                       faker_seed: int | None = None) -> ScenarioResult:
    """Run ``scenario`` against ``env`` in a freshly seeded world, always cleaned up.

    ``history`` (a new one by default) lets a caller watch the run live; ``faker_seed``
    gives the world repeatable names (``harness compare``: both sides alike). Never raises for
    a failing scenario (see ``ScenarioResult.status``); cancellation propagates after the
    cleanup.
    """
    result = ScenarioResult(scenario)
    unsupported = _unsupported(scenario, env)
    if unsupported is not None:
        result.status = "skipped"
        result.notes.append(unsupported)
        log.info("scenario %s: skipped: %s", scenario.id, unsupported)
        return result
    began = time.monotonic()
    history = history if history is not None else MessageHistory()
    try:
        async with open_run(scenario, env, result, history=history,
                            faker_seed=faker_seed) as run:
            await _steps(run, result)
            await finish_run(run, result)
    except HarnessError as exc:
        log.debug("scenario %s errored", scenario.id, exc_info=True)
        result.status, result.failure = "error", Failure("error", str(exc))
    finally:
        result.history = history.messages
        result.duration = time.monotonic() - began
    if not result.passed:
        result.logs = await asyncio.to_thread(env.logs)
    log.info("scenario %s: %s in %.2f s", scenario.id, result.status, result.duration)
    return result


@contextlib.asynccontextmanager
async def open_run(scenario: Scenario, env: Environment, result: ScenarioResult, *,
                   history: MessageHistory, faults: bool | None = None,
                   faker_seed: int | None = None) -> AsyncIterator[Run]:
    """A live run of ``scenario`` in a freshly seeded world: its actors (created, not
    connected), the fault proxies when ``faults`` (default: when the scenario has fault
    steps), and on the way out the actors closed, the proxies stopped and the world
    cleaned up, whatever happened. ``result`` gets the run id and the actors' labels.

    ``harness run`` runs a scenario's steps in it; ``harness explore`` runs steps as its
    rules produce them.
    """
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        env.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10_000)
    db = client[env.database]
    run: Run | None = None
    network: Network | None = None
    try:
        world = await build_world(db, scenario.world, faker_seed=faker_seed)
        result.run_id = world.run_id
        templates = TemplateContext(world, relay=env.relay_timeouts,
                                    actor_specs={a.name: a for a in scenario.actors},
                                    variables=scenario.variables)
        if faults if faults is not None else uses_faults(scenario):
            network = await Network.open(scenario, env.relay_url)
        cast = build_cast(scenario.actors, world, env.relay_url, history, templates.render,
                          network.urls() if network is not None else None)
        templates.actors = cast.ref
        run = Run(scenario, env, db, world, history, cast, templates, network=network)
        yield run
    finally:
        try:
            if run is not None:
                await run.cast.close()
                result.actor_labels = run.cast.labels()
        finally:
            try:
                if network is not None:  # after the actors: their goodbyes pass through it
                    await network.close()
            finally:
                try:
                    if result.run_id is not None:
                        await cleanup(db, result.run_id)
                except HarnessError as exc:
                    result.notes.append(f"cleanup of run {result.run_id} failed: {exc}")
                finally:
                    await client.close()


def _unsupported(scenario: Scenario, env: Environment) -> str | None:
    """Why ``env`` cannot run ``scenario`` at all (it asserts a choice of the reference relay,
    or restarts the relay), else None."""
    if scenario.reference_only and not env.reference_relay:
        return f"skipped: reference relay only ({scenario.reference_only}); the relay under " \
               f"test is not the reference relay with its own choices ({env.describe()})"
    if env.supports_restart or not any(s.kind == "restart_relay" for s in scenario.all_steps()):
        return None
    return f"skipped: the scenario restarts the relay, which this environment cannot do " \
           f"({env.describe()})"


async def _steps(run: Run, result: ScenarioResult) -> None:
    timeout = run.scenario.timeout
    try:
        async with asyncio.timeout(timeout):
            await run_in_order(run, run.scenario.steps, result.steps, None, execute)
    except TimeoutError:
        done = {id(r.step) for r in result.steps}
        left = [s for s in run.scenario.steps if id(s) not in done]
        current = StepResult(left[0], status="cancelled") if left else None
        result.steps += ([current] if current else []) + [StepResult(s) for s in left[1:]]
        result.failure = Failure(
            "timeout", f"the scenario did not finish within its timeout of {timeout:g} s",
            step=current.step.title if current else None,
            source=current.step.source if current else None, at=run.elapsed())
        result.status = "failed"
        return
    failed = next((r for r in result.steps if not r.ok), None)
    if failed is not None:
        result.status, result.failure = "failed", failed.failure


def _check_context(run: Run, end_seq: int | None) -> CheckContext:
    actors = run.cast.actors
    return CheckContext(
        end_seq=end_seq,
        chat_session_owner={c.id: c.user_id for c in run.world.chat_sessions},
        actor_users={n: a.user_id for n, a in actors.items()
                     if isinstance(a, SimIDE | SimDrone) and a.user_id},
        actor_registrations={n: a.registration_id for n, a in actors.items()
                             if isinstance(a, SimDrone)},
    )


async def _settle(run: Run, result: ScenarioResult) -> None:
    """Let drones finish their scripts and in-flight events arrive (bounded by ``settle``)."""
    settle = run.scenario.settle
    drones = {n: a for n, a in run.cast.actors.items() if isinstance(a, SimDrone)}
    outcomes = await asyncio.gather(*(d.wait_idle(settle) for d in drones.values()),
                                    return_exceptions=True)
    for name, outcome in zip(drones, outcomes, strict=True):
        if isinstance(outcome, HarnessError):
            result.notes.append(f"{run.label(name)}: {outcome}")
        elif isinstance(outcome, BaseException):
            raise outcome
    context = _check_context(run, None)

    def delivered(messages: tuple[Any, ...]) -> bool:
        return not any(v.code == "missing" for v in check_history(messages, context))

    with contextlib.suppress(TimeoutError):  # what stays missing is a delivery violation
        await run.history.wait_for(delivered, settle)


async def finish_run(run: Run, result: ScenarioResult) -> None:
    """After the steps: settle (when they passed), close the actors, check the invariants
    and judge them into ``result``."""
    if result.status == "passed":
        await _settle(run, result)
    end_seq = len(run.history)
    await run.cast.close()
    violations = check_history(run.history.messages, _check_context(run, end_seq))
    violations += await _leaks(run, result)
    violations += await _secrets(run, result)
    result.violations = violations
    if result.status != "passed":
        return
    _judge(run.scenario, violations, result)


async def _leaks(run: Run, result: ScenarioResult) -> list[Violation]:
    ours: dict[str, str] = {}
    for m in run.history.messages:
        if m.direction == "connect" and m.socket_id:
            ours[m.socket_id] = f"socket of {m.kind} {m.actor}"
    for name, actor in run.cast.actors.items():
        if isinstance(actor, SimDrone):
            ours[actor.registration_id] = f"registration of drone {name}"
    for user in run.world.users:
        ours.setdefault(user.id, "a user of this run")
    for chat in run.world.chat_sessions:
        ours.setdefault(chat.id, "a chat session of this run")
    sockets = {m.socket_id for m in run.history.messages if m.socket_id}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEAK_WAIT
    while True:
        snapshot = await fetch_sessions(run.env.relay_url, run.env.admin_token)
        if snapshot.refused:
            if result.status != "passed":  # keep the first failure; say this one too
                result.notes.append(f"leak checks did not run: {snapshot.reason}")
                return []
            raise EnvError(f"the leak checks cannot run: {snapshot.reason}")
        if not snapshot.available:
            result.notes.append(f"leak checks skipped: {snapshot.reason}")
            return []
        leaks = check_leaks({"maps": snapshot.maps}, ours)
        if not leaks or loop.time() >= deadline:
            result.notes += [f"leak checks of {name} skipped: {snapshot.missing(name)}"
                             for name in SESSION_MAPS if snapshot.keys(name) is None]
            return leaks
        if not any(key in sockets for name in snapshot.names
                   for key in snapshot.keys(name) or ()):
            deadline = min(deadline, loop.time() + LEAK_GRACE)
        await asyncio.sleep(POLL_INTERVAL)


async def _secrets(run: Run, result: ScenarioResult) -> list[Violation]:
    logs = await asyncio.to_thread(run.env.logs)
    relay = {name: text for name, text in logs.items() if name == "relay"}
    if not relay:
        result.notes.append("secret checks skipped: the environment shows no relay log")
        return []
    secrets = {u.token: f"the API token of user {u.id}" for u in run.world.users}
    secrets.update({d.token: f"the token of drone registration {d.id}"
                    for d in run.world.drones})
    return check_secrets(relay, secrets)


def _judge(scenario: Scenario, violations: list[Violation], result: ScenarioResult) -> None:
    seen = sorted({v.invariant for v in violations})
    expected = sorted(scenario.expect_violations)
    details = tuple(str(v) for v in violations)
    if expected:
        if seen == expected:
            result.notes.append(f"expected violations observed: {', '.join(expected)}")
            return
        missing = [name for name in expected if name not in seen]
        extra = [name for name in seen if name not in expected]
        parts = ([f"expected {', '.join(missing)} to be violated, but it held"] if missing
                 else []) + ([f"unexpected violations of {', '.join(extra)}"] if extra else [])
        result.status = "failed"
        result.failure = Failure("invariant", "; ".join(parts), details=details)
        return
    if violations:
        more = f" (and {len(violations) - 1} more, below)" if len(violations) > 1 else ""
        result.status = "failed"
        result.failure = Failure("invariant", f"{violations[0]}{more}", details=details[1:],
                                 facts=tuple(f for v in violations for f in v.facts))

