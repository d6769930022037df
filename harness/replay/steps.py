"""The recorded exchange as scenario steps, in the order it happened.

Every client action becomes a step: an event a client emitted is an ``emit`` (the recorded
payload, ids rewritten; its recorded ack, loosened, as ``ack``), a connection a ``connect``
(or ``connect`` with ``refused``), a goodbye a ``disconnect``, a transport that died a
``crash``, an HTTP call an ``http`` step with its recorded answer. What the relay sent a
client becomes an ``expect`` on that client, placed before the next action of any client
(it had arrived by then), or once a drone has answered the request it expects. A drone's
answers to the relay's requests are its ``behaviour``, changed with ``set_behaviour``
where the recorded drone answered differently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from harness.protocol import FORWARDED_DRONE_EVENTS, Event, is_object_id
from harness.replay.cast import Cast, error_code
from harness.replay.recording import Recording, refusal_code
from harness.scenario.matchers import is_rfc3339
from harness.sim.history import Message

__all__ = ["Line", "ReplayOptions", "replay_steps"]

STREAM: Final = FORWARDED_DRONE_EVENTS
REQUESTS: Final = {Event.REQUEST_SESSION_LOCK: "on_lock", Event.RELEASE_SESSION_LOCK:
                   "on_release", Event.SUBMIT_PROMPT: "on_prompt",
                   Event.REQUEST_TERMINATION: "on_termination"}
_CUT: Final = re.compile(r"…\(\+\d+ chars\)$|^sha256:[0-9a-f]{8,}$")
_SLOW: Final = 3.0  # an answer slower than this waits for a relay timeout


@dataclass(frozen=True)
class ReplayOptions:
    """``gaps``: ``compress`` (run as fast as the relay answers) or ``keep`` (a ``pause``
    for every idle gap of at least ``min_gap`` seconds)."""

    gaps: str = "compress"
    min_gap: float = 0.5


@dataclass
class Line:
    """One step with the comments written above it."""

    step: dict[str, Any]
    comments: list[str] = field(default_factory=list)


class _Steps:
    def __init__(self, recording: Recording, cast: Cast, options: ReplayOptions) -> None:
        self.recording = recording
        self.cast = cast
        self.options = options
        self.lines: list[Line] = []
        self.comments: list[str] = []
        self.pending: dict[str, list[Message]] = {}
        self.connected: set[str] = set()
        self.seen: set[str] = set()  # actors that connected once
        self.captures: dict[str, str] = {}  # work order id -> capture name
        self.behaviours = _behaviours(recording, cast)
        self.terminated: set[str] = set()  # drones that accepted termination
        self.last_t = recording.messages[0].t if recording.messages else 0.0
        self.paused = 0.0

    # -- references ------------------------------------------------------------------------

    def ref(self, recorded: str) -> str | None:
        """The reference text of a recorded id, in an actor's words where one is bound."""
        path = self.cast.refs.get(recorded)
        if path is None:
            return None
        for actor in self.cast.actors.values():
            if actor.token is not None:
                continue
            if actor.kind == "drone" and path == f"users[{actor.user}].drones[{actor.drone}].id":
                return f"${{{actor.name}.id}}"
            if actor.kind == "ide" and path == \
                    f"users[{actor.user}].chat_sessions[{actor.chat}].id":
                return f"${{{actor.name}.chat_session.id}}"
        return f"${{{path}}}"

    def sent_value(self, value: Any) -> Any:
        """A payload a client sends: recorded ids become references to the seeded world."""
        if isinstance(value, dict):
            return {k: self.sent_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.sent_value(v) for v in value]
        if isinstance(value, str) and is_object_id(value):
            if value in self.captures:
                return f"${{capture.{self.captures[value]}}}"
            return self.ref(value) or value
        return value

    def expected(self, value: Any, key: str | None = None) -> Any:
        """A value the relay sent, as a matcher: ids as references or captures, values that
        differ per run (unknown ids, timestamps, cut texts) by their type, no message text."""
        if isinstance(value, dict):
            return {k: self.expected(v, k) for k, v in value.items() if k != "message"}
        if isinstance(value, list):
            return [self.expected(v) for v in value]
        if not isinstance(value, str):
            return value
        if is_object_id(value):
            if value in self.captures:
                return f"${{capture.{self.captures[value]}}}"
            if value in self.cast.work_orders:
                name = self.captures[value] = f"wo{len(self.captures) + 1}"
                return {"$type": "objectid", "$capture": name}
            return self.ref(value) or {"$type": "objectid"}
        if is_rfc3339(value):
            return {"$rfc3339": True}
        if _CUT.search(value) or key in ("sid", "socketId", "hostname", "email",
                                         "displayName"):
            return {"$type": "string"}
        return value

    # -- steps -----------------------------------------------------------------------------

    def add(self, step: dict[str, Any], *comments: str) -> None:
        self.lines.append(Line(step, [*self.comments, *comments]))
        self.comments = []

    def gap(self, message: Message) -> None:
        """A ``pause`` for the idle time before ``message``, when gaps are kept."""
        idle = message.t - self.last_t
        if self.options.gaps == "keep" and idle >= self.options.min_gap:
            self.add({"pause": round(idle, 2)}, f"the recording was idle {idle:.2f} s here")
            self.paused += idle

    def flush(self, actor: str) -> None:
        """An ``expect`` of what ``actor`` received since its last action."""
        received = self.pending.pop(actor, [])
        if not received:
            return
        events = [{"event": m.event, "payload": self.expected(m.payload)} for m in received]
        step: dict[str, Any] = {"actor": actor}
        if len(events) == 1:
            step.update(events[0])
        else:
            step["events"] = events
            if len({_order_key(m) for m in received}) > 1:
                step["order"] = "any"  # unrelated events; each stream's order: invariants
        wait = received[-1].t - received[0].t
        if wait > _SLOW:
            step["timeout"] = math.ceil(wait * 1.5 + 5)
        self.add({"expect": step})

    def flush_all(self) -> None:
        for actor in list(self.pending):
            self.flush(actor)

    def run(self) -> list[Line]:
        for message in self.recording.messages:
            self.handle(message)
            if message.direction not in ("received", "ack", "acked", "note"):
                self.last_t = message.t
        self.flush_all()
        return self.lines

    def handle(self, message: Message) -> None:
        if message.kind == "http":
            if message.direction == "sent":
                self.flush_all()
                self.gap(message)
                self.http(message)
            return
        actor = self.cast.of_client.get(message.actor)
        if actor is None:
            return
        direction = message.direction
        if direction == "received":
            self.pending.setdefault(actor, []).append(message)
            if message.kind == "drone" and message.event in REQUESTS \
                    and message.meta.get("wants_ack", True):
                self.asked(actor, message)
        elif direction == "connect":
            self.flush_all()
            self.gap(message)
            self.connect(actor, message)
        elif direction == "connect-error":
            self.flush_all()
            self.gap(message)
            code = refusal_code(message.payload)
            self.add({"connect": {"actor": actor, "refused": code or {"$any": True}}},
                     f"{message.actor}: the relay refused the connection: {message.payload}")
        elif direction == "sent":
            self.flush_all()
            self.gap(message)
            self.emit(actor, message)
        elif direction == "acked" and message.event in REQUESTS:
            self.flush(actor)
            self.answered(actor, message)
        elif direction == "disconnect":
            self.flush_all()
            self.leave(actor, message)
        elif direction == "note" and message.event == "upgrade":
            self.comments.append(f"{message.actor} started on long-polling and upgraded to "
                                 "websocket (the replay connects over websocket)")
        elif direction == "note" and message.event == "upstream-error":
            self.comments.append(f"{message.actor}: the recorder could not reach the relay "
                                 f"here ({message.payload})")

    def connect(self, actor: str, message: Message) -> None:
        kind = "reconnect" if actor in self.seen else "connect"
        notes = [] if message.actor == actor else [f"recorded as {message.actor}"]
        self.seen.add(actor)
        self.connected.add(actor)
        self.add({kind: actor}, *notes)

    def emit(self, actor: str, message: Message) -> None:
        step: dict[str, Any] = {"actor": actor, "event": message.event,
                                "payload": self.sent_value(message.payload)}
        answer = self.cast.acks.get(message.seq)
        notes: list[str] = []
        if "ack_id" not in message.meta and answer is None:
            step["no_ack"] = True
        elif answer is None:
            step["no_ack"] = True
            notes.append(f"{message.actor} asked for an ack of {message.event}; none was "
                         "recorded")
        else:
            step["ack"] = self.expected(answer.ack)
            timeout = _timeout(answer.t - message.t, error_code(answer.ack))
            if timeout is not None:
                step["timeout"] = timeout
        if message.event in STREAM and self._refused_stream(message):
            step["negative"] = True
            notes.append("the relay answered this with protocolError: it must drop it")
        self.add({"emit": step}, *notes)

    def _refused_stream(self, message: Message) -> bool:
        """A drone's stream event the relay answered with ``protocolError``."""
        later = (m for m in self.recording.messages if m.seq > message.seq
                 and m.actor == message.actor)
        for m in later:
            if m.direction == "sent" and m.event in STREAM:
                return False
            if m.direction == "received" and m.event == Event.PROTOCOL_ERROR:
                return isinstance(m.payload, dict) and m.payload.get("event") == message.event
        return False

    def answered(self, actor: str, message: Message) -> None:
        """The drone answered a request (an accepted termination: it exits by itself)."""
        if message.event == Event.REQUEST_TERMINATION and message.ack is True:
            self.terminated.add(actor)

    def asked(self, actor: str, message: Message) -> None:
        """The relay asked the drone: when the recorded drone answers the next request of
        this kind differently, its behaviour changes now (the step that caused this one
        has waited for the answer; the next one's cause comes later)."""
        field_ = REQUESTS[message.event]
        upcoming = self.behaviours.get(actor, {}).get(field_)
        if upcoming:
            answer = upcoming.pop(0)
            if upcoming and upcoming[0] != answer:
                self.flush(actor)
                self.add({"set_behaviour": {"actor": actor, "behaviour": {field_: upcoming[0]}}},
                         f"the recorded drone answers the next {message.event} differently")

    def leave(self, actor: str, message: Message) -> None:
        self.connected.discard(actor)
        reason = str(message.meta.get("reason") or "")
        if actor in self.terminated:
            self.terminated.discard(actor)
            self.add({"wait_until": {"disconnected": [actor]}},
                     f"{actor} exits by itself after accepting termination (recorded: "
                     f"{reason or 'a disconnect'})")
        elif reason in ("client", "disconnect", "io client disconnect"):
            self.gap(message)
            self.add({"disconnect": actor})
        elif reason in ("server", "io server disconnect", "replaced"):
            self.add({"wait_until": {"disconnected": [actor]}},
                     f"the relay disconnected {message.actor} here (recorded reason: {reason})")
        else:
            self.gap(message)
            self.add({"crash": actor}, f"{message.actor}'s transport closed with no goodbye "
                     f"here ({reason or 'no reason recorded'}: a crash or a network cut)")

    def http(self, message: Message) -> None:
        verb, _, path = message.event.partition(" ")
        for recorded in re.findall(r"[0-9a-fA-F]{24}", path):
            path = path.replace(recorded, self.sent_value(recorded))
        step: dict[str, Any] = {"method": verb, "path": path}
        auth = message.meta.get("auth")
        user = next((a for a in self.cast.actors.values() if a.kind == "http"
                     and self.cast.users[a.user].identity == f"user:{auth}"), None)
        if user is not None:
            step["actor"] = user.name
        elif isinstance(auth, str):
            step["token"] = "not-the-recorded-token"
        if message.payload is not None:
            step["json"] = self.sent_value(message.payload)
        answer = self.cast.acks.get(message.seq)
        if answer is not None:
            expect: dict[str, Any] = {"status": answer.meta.get("status")}
            if answer.payload not in (None, ""):
                expect["body"] = self.expected(answer.payload)
            step["expect"] = expect
            timeout = _timeout(answer.t - message.t, error_code(answer.payload))
            if timeout is not None:
                step["timeout"] = timeout
        self.add({"http": step})


def _order_key(message: Message) -> str:
    payload = message.payload if isinstance(message.payload, dict) else {}
    if message.event in STREAM:
        return f"stream:{payload.get('workOrderId')}"
    return message.event


def _timeout(took: float, error: str | None) -> str | int | None:
    """A step's timeout when the recorded answer was slow: the relay's own timeout where
    the answer says it timed out, else half again what it took, plus 5 s."""
    if took <= _SLOW:
        return None
    if error == "drone-timeout":
        return "${relay.drone_ack_timeout} + 10"
    if error == "termination-timeout":
        return "${relay.termination_ack_timeout} + ${relay.termination_poll_timeout} + 10"
    return math.ceil(took * 1.5 + 5)


def _answer(ack: Any) -> str:
    if ack is True or (isinstance(ack, dict) and ack.get("ok") is True):
        return "accept"
    return "refuse"


def _behaviours(recording: Recording, cast: Cast) -> dict[str, dict[str, list[str]]]:
    """Per drone actor, per request kind, the recorded answers in order (``ignore`` where a
    request that asked for an ack got none)."""
    answers: dict[str, dict[str, list[str]]] = {}
    asked: dict[int, Message] = {}
    for message in recording.messages:
        actor = cast.of_client.get(message.actor)
        if actor is None or message.kind != "drone" or message.event not in REQUESTS:
            continue
        if message.direction == "received" and message.meta.get("wants_ack", True):
            asked[message.seq] = message
            answers.setdefault(actor, {}).setdefault(REQUESTS[message.event], []).append(
                "ignore")
        elif message.direction == "acked":
            answered = answers.get(actor, {}).get(REQUESTS[message.event])
            if answered:
                index = len(answered) - 1 - answered[::-1].index("ignore") \
                    if "ignore" in answered else len(answered) - 1
                answered[index] = _answer(message.ack)
    return answers


def initial_behaviour(steps_answers: dict[str, list[str]], exit_mode: str) -> dict[str, Any]:
    """A drone actor's declared behaviour: its first recorded answer to each request."""
    behaviour: dict[str, Any] = {"on_prompt": "accept"}  # the stream is emitted by steps
    for field_, answers in steps_answers.items():
        if answers:
            behaviour[field_] = answers[0]
    behaviour["exit_mode"] = exit_mode
    return behaviour


def replay_steps(recording: Recording, cast: Cast,
                 options: ReplayOptions) -> tuple[list[Line], dict[str, dict[str, Any]], float]:
    """The steps, each drone actor's initial behaviour, and the seconds paused."""
    builder = _Steps(recording, cast, options)
    first = {actor: {k: list(v) for k, v in fields.items()}
             for actor, fields in builder.behaviours.items()}
    lines = builder.run()
    behaviours = {actor.name: initial_behaviour(first.get(actor.name, {}),
                                                _exit_mode(recording, cast, actor.name))
                  for actor in cast.actors.values() if actor.kind == "drone"}
    return lines, behaviours, builder.paused


def _exit_mode(recording: Recording, cast: Cast, actor: str) -> str:
    """``silent`` when the recorded drone's transport died after accepting termination."""
    accepted = False
    for message in _of_actor(recording, cast, actor):
        if message.direction == "acked" and message.event == Event.REQUEST_TERMINATION:
            accepted = message.ack is True
        elif message.direction == "disconnect" and accepted:
            reason = str(message.meta.get("reason") or "")
            return "goodbye" if reason in ("client", "disconnect", "server") else "silent"
    return "goodbye"


def _of_actor(recording: Recording, cast: Cast, actor: str) -> Iterator[Message]:
    return (m for m in recording.messages if cast.of_client.get(m.actor) == actor)
