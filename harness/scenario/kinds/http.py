"""``http``: an HTTP call to the relay's API, with the expected status and body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.outcome.facts import Fact
from harness.outcome.results import fail
from harness.outcome.wording import notes
from harness.protocol import TERMINATE_PATH, Event
from harness.scenario import hints
from harness.scenario.context import Run
from harness.scenario.kinds.base import ACTOR_NAME, DURATION, HTTP, MATCHER, UNSET, StepKind
from harness.scenario.matchers import match
from harness.scenario.model import Step

HTTP_TIMEOUT = 15.0


@dataclass(frozen=True)
class HttpArgs:
    """The request, and the ``expect``ed ``{status, body}`` (matchers)."""

    method: str
    path: str
    actor: str | None = None
    token: Any = UNSET
    headers: Mapping[str, str] | None = None
    json: Any = None
    timeout: Any = None
    expect: Mapping[str, Any] = field(default_factory=dict)


async def http(run: Run, step: Step) -> None:
    """Make an HTTP call and match its status and body."""
    args: HttpArgs = step.args
    actor = run.http(args.actor)
    token = run.render(args.token) if args.token is not UNSET \
        else run.cast.tokens.get(actor.name)
    method, path = args.method, str(run.render(args.path))
    since = len(run.history)
    result = await actor.request(method, path, token=token,
                                 headers=run.render(dict(args.headers or {})) or None,
                                 json=run.render(args.json),
                                 timeout=run.seconds(args.timeout, HTTP_TIMEOUT))
    expected = run.render(dict(args.expect))
    actual = {"status": result.status, "body": result.body}
    outcome = match(expected, actual)
    if outcome:
        run.capture(outcome)
        return
    status_wrong = any(m.path == "status" for m in outcome.mismatches)
    error = hints.error_text(result.body)
    answered = f"{result.status} {error}" if error else str(result.status)
    what = f"answered {answered}, expected {statuses(expected.get('status'))}" if status_wrong \
        else f"answered {answered} with a body that did not match"
    facts = _terminate_facts(run, path, result.body, since)
    raise fail(f"{method} {path} {what}{notes(facts)}", compared=True, expected=expected,
               actual=actual, mismatches=outcome.mismatches, facts=facts)


def statuses(expected: Any) -> str:
    """``404``, or ``401 or 400`` for a ``$one_of``."""
    alternatives = expected.get("$one_of") if isinstance(expected, dict) else None
    if isinstance(alternatives, list):
        return " or ".join(str(a) for a in alternatives)
    return str(expected)


def _terminate_facts(run: Run, path: str, body: Any, since: int) -> list[Fact | None]:
    """For a terminate call of a drone this run holds: connected after all, and whether
    requestTermination reached it during the call."""
    found = TERMINATE_PATH.search(path)
    if found is None:
        return []
    registration = found.group(1).lower()
    error = body.get("error") if isinstance(body, dict) else None
    name = hints.drone_named(run, registration)
    if name is None:
        return []
    if hints.received_since(run, name, Event.REQUEST_TERMINATION, since) \
            and hints.gone(run, name):
        return [hints.exited_unnoticed(run, registration, Event.REQUEST_TERMINATION, since,
                                       error)]
    if not run.drone(name).connected:
        return [hints.not_connected(run, registration, error)]
    return [hints.connected_anyway(run, registration, error),
            hints.never_reached(run, registration, Event.REQUEST_TERMINATION, since)]


KINDS = (
    StepKind(
        name="http", order=9, summary="An HTTP call with expected status and body.",
        schema={
            "type": "object",
            "properties": {
                "actor": ACTOR_NAME,
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "path": {"type": "string", "pattern": "^/"},
                "token": {"type": ["string", "null"]},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "json": {},
                "timeout": DURATION,
                "expect": {"type": "object", "properties": {"status": MATCHER, "body": MATCHER},
                           "additionalProperties": False},
            },
            "additionalProperties": False, "required": ["method", "path"],
            "description": "An HTTP call with expected status and body.",
        },
        reference="`method`, `path`, `actor` (default: an implicit tokenless one), `token` "
                  "(overrides; `null` for none), `headers`, `json`, `timeout` (15 s), "
                  "`expect: {status, body}` (matchers)",
        args=HttpArgs, handler=http, actors={"actor": HTTP},
        matchers=(("expect", "status"), ("expect", "body"))),
)
