"""The Hypothesis state machine of ``harness explore``: rules that drive the simulated
clients against a live relay, each checked against the contract's model.

Each rule reads the model (``harness.explore.model``) for what the relay may answer, writes
its action as steps of the scenario language (``harness.explore.program``), and runs them:
the acks and events the model allows, the database the model expects, and (where the relay
has introspection) its maps. Hypothesis chooses the rules and their arguments, and shrinks a
failing example; the failing example's program is the scenario file the engineer gets.
"""

from __future__ import annotations

import copy
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from harness.env.base import Environment
from harness.errors import HarnessError
from harness.explore.live import ExplorerStopped, LiveExample, compile_program
from harness.explore.loop import LoopThread
from harness.explore.model import OK, Answer, Chat, Drone, HttpAnswer, Ide, Model, WorkOrder
from harness.explore.program import SCRIPT, Program, Step, ack_matcher, one_of
from harness.outcome.results import Failure
from harness.protocol import ErrorCode, Event
from harness.settings import RelayTimeouts

log = logging.getLogger(__name__)
T = TypeVar("T")

ACK_WAIT = "${relay.drone_ack_timeout} + 5"
RETRY_WAIT = "${relay.drone_ack_timeout} + ${relay.drone_ack_timeout} + 5"
TERMINATE_WAIT = "${relay.termination_ack_timeout} + ${relay.termination_poll_timeout} + 10"
HEARTBEAT_WAIT = "${relay.heartbeat} + 10"
# How a drone answers, drawn once per example: as usual (about half the drones: most of
# what can go wrong needs a drone that cooperates), or each answer drawn from these.
USUAL = ("accept", "stream", "accept")
LOCK_ANSWERS = ("accept", "refuse", "ignore")
PROMPT_ANSWERS = ("stream", "accept", "refuse")
TERMINATION_ANSWERS = ("accept", "refuse", "ignore")
COSTLY = frozenset({"restart", "silent"})
COSTLY_ONE_IN = 2
CLIENT_GIVES_UP = 0.3  # the IDE's own timeout before it retries a lock request


class StopExploring(KeyboardInterrupt):
    """The budget ran out with nothing found: ends the Hypothesis run at once. Hypothesis
    takes any other exception for a failure (and replays it); an interrupt it lets through
    untouched, without saving the example."""


class ExploreFailure(Exception):
    """A step (or, at the end, an invariant) did not hold: what the relay did differs from
    what the model allows. Carries the program of the example, which is the finding."""

    def __init__(self, program: Program, failure: Failure, expectation: str) -> None:
        super().__init__(failure.message)
        self.program = program
        self.failure = failure
        self.expectation = expectation
        self.size = (len(program.actions), program.step_count)


@dataclass
class Session:
    """What every example of one exploration shares: the loop, the environment, the
    options, the budget and the counters."""

    loop: LoopThread
    env: Environment
    reference: bool
    faults: bool
    restart: bool
    timeouts: RelayTimeouts
    file: Path  # the name the programs compile as (and the finding is written to)
    deadline: float  # time.monotonic() after which no new example starts
    shrink_budget: float
    on_example: Callable[[Session, str, float, int], None] | None = None
    examples: int = 0
    steps: int = 0
    found_at: float | None = None
    first_failure_after: float | None = None
    first_failure_example: int | None = None  # which example failed first (1 = the first)
    smallest: ExploreFailure | None = None
    shrink_stopped: bool = False
    started: float = field(default_factory=time.monotonic)

    def before_example(self) -> None:
        """Stop when the budget is spent: the search's when nothing was found yet, the
        shrinking's once something was (the smallest failing example seen is then the
        finding). Hypothesis's own final replay of its shrunk example always runs."""
        now = time.monotonic()
        if self.found_at is None:
            if now >= self.deadline:
                raise StopExploring
            return
        if now >= self.found_at + self.shrink_budget and \
                not current_build_context().is_final:
            self.shrink_stopped = True
            raise StopExploring

    def failed(self, failure: ExploreFailure) -> None:
        """Count a failing example; keep the smallest (the finding, should Hypothesis's own
        shrinking end in a replay that does not fail the same way)."""
        if self.found_at is None:
            self.found_at = time.monotonic()
            self.first_failure_after = self.found_at - self.started
            self.first_failure_example = self.examples + 1
        if self.smallest is None or failure.size < self.smallest.size:
            self.smallest = failure


def _names(items: Sequence[Drone | Ide]) -> list[str]:
    return [item.name for item in items]


class ExploreMachine(RuleBasedStateMachine):
    """One example: a fresh world, the cast, and a sequence of rules."""

    session: ClassVar[Session]

    def __init__(self) -> None:
        super().__init__()
        self.session.before_example()
        self.model = Model.of_cast(self.session.reference)
        self.program = Program()
        self.live = LiveExample(self.session.env, self.session.faults)
        self.failed = False
        self.began = time.monotonic()
        self.expectation = ""
        # The rules that cost seconds (a relay restart, a heartbeat) run at most once per
        # example, so that an example stays a few seconds long.
        self.spent: set[str] = set()

    # -- plumbing ----------------------------------------------------------------------------

    def act(self, comment: str, steps: list[Step], expectation: str = "") -> None:
        """Add an action to the program and run its steps; a failure raises
        ``ExploreFailure`` with the program so far."""
        self.expectation = expectation or comment
        self.program.add(comment, steps)
        self.program.reference_only = list(self.model.references)
        scenario = compile_program(self.session.file, self.program.render_last())
        first = len(scenario.steps) - len(steps)
        began = time.monotonic()
        outcome = self._call(self.live.run_steps(scenario, first))
        log.debug("action %s: %.2f s", comment, time.monotonic() - began)
        self.session.steps += len(steps)
        if outcome is not None:
            self.failed = True
            failure = outcome.failure or Failure("error", f"{outcome.step.title} {outcome.status}")
            found = ExploreFailure(copy.deepcopy(self.program), failure, self.expectation)
            self.session.failed(found)
            raise found

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the explorer's loop; a failure of the harness or the environment
        (not of the relay's answers, which are step results) stops the exploration."""
        try:
            return self.session.loop.call(coro)
        except HarnessError as exc:
            raise ExplorerStopped(str(exc)) from exc

    def teardown(self) -> None:
        session = self.session
        log.debug("example %d (%r):\n%s", session.examples + 1, sys.exc_info()[1],
                  self.program.render())
        try:
            failure = self._call(self.live.finish(check=not self.failed))
        finally:
            session.examples += 1
            if session.on_example is not None:
                verdict = "failed" if self.failed else "passed"
                session.on_example(session, verdict, time.monotonic() - self.began,
                                   self.program.step_count)
        if failure is not None:
            self.failed = True
            found = ExploreFailure(copy.deepcopy(self.program), failure,
                                   "every automatic check holds after the steps (delivery, "
                                   "isolation, acks, leaks)")
            session.failed(found)
            raise found

    # -- expectations as steps ---------------------------------------------------------------

    def _status_steps(self, drone: Drone, status: str, wait: Any = None) -> list[Step]:
        steps: list[Step] = []
        for ide in self.model.owner_ides(drone):
            spec: dict[str, Any] = {"actor": ide.name, "event": Event.DRONE_STATUS,
                                    "payload": {"registrationId": f"${{{drone.name}.id}}",
                                                "status": status}}
            if wait is not None:
                spec["timeout"] = wait
            steps.append({"expect": spec})
        return steps

    @staticmethod
    def _db(drone: Drone, status: str, locked_by: Chat | None, *, wait: Any = None) -> Step:
        spec: dict[str, Any] = {"registration": f"${{{drone.name}.id}}", "status": status,
                                "locked_by": locked_by.ref if locked_by else None}
        step: dict[str, Any] = {"db": spec}
        if wait is not None:
            step["timeout"] = wait
        return {"wait_until": step}

    @staticmethod
    def _aborted(work_orders: list[WorkOrder]) -> list[Step]:
        return [{"wait_until": {"db": {"work_order": f"${{capture.{w.capture}}}",
                                       "status": "aborted"}}} for w in work_orders]

    def _maps(self, wait: Any = None) -> list[Step]:
        steps: list[Step] = []
        for name, (has, lacks) in self.model.expected_maps().items():
            spec: dict[str, Any] = {"map": name}
            if has:
                spec["has"] = has
            if lacks:
                spec["lacks"] = lacks
            step: dict[str, Any] = {"sessions": spec}
            if wait is not None:
                step["timeout"] = wait
            steps.append({"wait_until": step})
        return steps

    def _stream_expectations(self, chat: Chat, capture: str, kinds: list[str]) -> list[Step]:
        events: list[dict[str, Any]] = []
        for seq, kind in enumerate(kinds):
            payload: dict[str, Any] = {"seq": seq}
            if seq == 0:
                payload["workOrderId"] = f"${{capture.{capture}}}"
            events.append({"event": kind, "payload": payload})
        events.append({"event": Event.WORK_ORDER_COMPLETE, "payload": {"status": "complete"}})
        return [{"expect": {"actor": i.name, "events": events}}
                for i in self.model.watchers(chat)]

    def _connected_ides(self) -> list[Ide]:
        return [i for i in self.model.ides.values() if i.connected]

    def _connected_drones(self) -> list[Drone]:
        return [d for d in self.model.drones.values() if d.connected]

    # -- rules: the start --------------------------------------------------------------------

    @initialize(drones=st.lists(st.sampled_from(["d0", "d1", "d2"]), min_size=1, unique=True),
                ides=st.lists(st.sampled_from(["ide0", "ide0b", "ide1", "ide2"]), min_size=1,
                              unique=True),
                open_all=st.booleans(), costly=st.integers(0, COSTLY_ONE_IN - 1),
                behaviours=st.lists(st.one_of(
                    st.just(USUAL),
                    st.tuples(st.sampled_from(LOCK_ANSWERS), st.sampled_from(PROMPT_ANSWERS),
                              st.sampled_from(TERMINATION_ANSWERS))),
                    min_size=3, max_size=3))
    def start(self, drones: list[str], ides: list[str], open_all: bool, costly: int,
              behaviours: list[tuple[str, str, str]]) -> None:
        """Connect a drone or more, then an IDE or more, and maybe open their chat sessions
        (a connection comes first in most of what can go wrong). One example
        in ``COSTLY_ONE_IN`` may use the rules that take seconds (a relay restart, a silent
        link); shrinking turns them off where the failure does not need them."""
        if costly < COSTLY_ONE_IN - 1:
            self.spent.update(COSTLY)
        self._behaviours(behaviours)
        steps: list[Step] = []
        if drones or ides:
            steps.append({"connect": drones + ides})
        for name in drones:
            drone = self.model.drones[name]
            self.model.drone_connected(drone)
            steps.append(self._db(drone, "online", None))
        for name in ides:
            self.model.ides[name].connected = True
        if open_all:
            for name in ides:
                ide = self.model.ides[name]
                steps.append(self._open_step(ide, ide.chat, Answer.of(OK)))
                ide.opened = True
        if not steps:
            return
        what = ", ".join(drones + ides) or "nothing"
        self.act(f"connect {what}" + (" and open their chat sessions" if open_all and ides
                                      else ""), steps)

    def _behaviours(self, behaviours: list[tuple[str, str, str]]) -> None:
        """How each drone answers locks, prompts and termination, for the whole example;
        only what differs from accepting everything (and streaming) is written."""
        steps: list[Step] = []
        said: list[str] = []
        for drone, (on_lock, on_prompt, on_termination) in zip(
                self.model.drones.values(), behaviours, strict=True):
            drone.on_lock, drone.on_prompt = on_lock, on_prompt
            drone.on_termination = on_termination
            changed = {key: value for key, value, usual in (
                ("on_lock", on_lock, "accept"), ("on_prompt", on_prompt, "stream"),
                ("on_termination", on_termination, "accept")) if value != usual}
            if changed:
                steps.append({"set_behaviour": {"actor": drone.name, "behaviour": changed}})
                said.append(f"{drone.name} " + ", ".join(
                    f"{key.removeprefix('on_')} {value}" for key, value in changed.items()))
        if steps:
            self.act("how the drones answer: " + "; ".join(said), steps)

    # -- rules: drones -----------------------------------------------------------------------

    def _offline_drones(self) -> list[Drone]:
        return [d for d in self.model.drones.values() if not d.connected]

    def _offline(self) -> list[Drone | Ide]:
        return [*self._offline_drones(), *self._offline_ides()]

    @precondition(lambda self: bool(self._offline()))
    @rule(data=st.data())
    def connect(self, data: st.DataObject) -> None:
        """A drone or an IDE that is not connected connects."""
        actor = data.draw(st.sampled_from(self._offline()), label="actor")
        if isinstance(actor, Ide):
            actor.connected = True
            self.act(f"{actor.name} connects (on no chat session until it opens one)",
                     [{"connect": [actor.name]}])
            return
        drone = actor
        self.model.drone_connected(drone)
        steps = [{"connect": [drone.name]}, self._db(drone, "online", None),
                 *self._status_steps(drone, "online")]
        self.act(f"{drone.name} connects: online, unlocked; its owner's IDEs hear it", steps)

    def _online(self) -> list[Drone | Ide]:
        return [*self._connected_drones(), *self._connected_ides()]

    @precondition(lambda self: bool(self._online()))
    @rule(data=st.data(), how=st.sampled_from(["disconnect", "crash"]))
    def leave(self, data: st.DataObject, how: str) -> None:
        """A connected drone or IDE disconnects (a goodbye) or crashes (no goodbye)."""
        actor = data.draw(st.sampled_from(self._online()), label="actor")
        if isinstance(actor, Ide):
            self.model.ide_gone(actor)
            self.act(f"{actor.name} leaves ({how}): no map keeps what only it held "
                     "(contract 3, 9)", [{how: [actor.name]}, *self._maps()])
            return
        drone = actor
        aborted = self.model.drone_gone(drone)
        # A long-polling client that vanishes leaves no connection to close: the relay
        # notices at its heartbeat.
        wait = HEARTBEAT_WAIT if how == "crash" and drone.transport == "polling" else None
        steps = [{how: [drone.name]}, self._db(drone, "offline", None, wait=wait),
                 *self._aborted(aborted), *self._status_steps(drone, "offline", wait),
                 *self._maps(wait)]
        within = " within the relay's heartbeat" if wait else ""
        self.act(f"{drone.name} leaves ({how}): offline{within}, lock cleared, running work "
                 "orders aborted, its owner's IDEs told, and no map keeps it (contract 9)",
                 steps)

    @precondition(lambda self: bool(self._connected_drones()))
    @rule(data=st.data())
    def drone_restarts(self, data: st.DataObject) -> None:
        drone = data.draw(st.sampled_from(self._connected_drones()), label="drone")
        chat, work_order = self.model.recovery(drone)
        ack: dict[str, Any] = {"ok": True, "chatSessionId": chat.ref if chat else None}
        if chat is not None:
            ack["workOrder"] = {"$one_of": [None, {"$absent": True}]} if work_order is None \
                else {
                "$with_id": f"${{capture.{work_order.capture}}}",
                "$subset": {"status": "running"}}
        steps: list[Step] = [{"restart": {"actor": drone.name, "ack": ack}},
                             *self._status_steps(drone, drone.status)]
        if chat is not None:
            steps += [{"expect": {"actor": i.name, "event": Event.DRONE_RECOVERED,
                                  "payload": {"registrationId": f"${{{drone.name}.id}}",
                                              "chatSessionId": chat.ref}}}
                      for i in self.model.watchers(chat)]
        steps.append(self._db(drone, drone.status, drone.locked_by))
        held = f"the lock of {chat.label}" if chat else "no lock"
        self.act(f"{drone.name} restarts (a new connection replaces the old: a handover) and "
                 f"asks for crash recovery: {held}", steps)

    # -- rules: IDEs -------------------------------------------------------------------------

    def _offline_ides(self) -> list[Ide]:
        return [i for i in self.model.ides.values() if not i.connected]

    def _open_step(self, ide: Ide, chat: Chat, answer: Answer) -> Step:
        return {"emit": {"actor": ide.name, "event": Event.OPEN_CHAT_SESSION,
                         "payload": {"chatSessionId": chat.ref},
                         "ack": ack_matcher(answer.codes)}}

    @precondition(lambda self: bool(self._connected_ides()))
    @rule(data=st.data(), foreign=st.booleans())
    def open_chat(self, data: st.DataObject, foreign: bool) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        if foreign:
            chat = Chat(1 - ide.user, 0)
            answer = Answer.of(ErrorCode.FORBIDDEN)
        else:
            chat, answer = ide.chat, Answer.of(OK)
            ide.opened = True
        self.act(f"{ide.name} opens {chat.label}: {answer.describe()}",
                 [self._open_step(ide, chat, answer)],
                 f"openChatSession of {chat.label} by {ide.name} (user {ide.user}) is "
                 f"answered {answer.describe()}")

    # -- rules: locks and prompts ------------------------------------------------------------

    def _lock_payload(self, ide: Ide, drone: Drone) -> dict[str, Any]:
        return {"registrationId": f"${{{drone.name}.id}}", "chatSessionId": ide.chat.ref}

    @precondition(lambda self: bool(self._connected_ides()))
    @rule(data=st.data(), drone=st.sampled_from(["d0", "d1", "d2"]))
    def lock(self, data: st.DataObject, drone: str) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        state = self.model.drones[drone]
        answer, asks = self.model.lock(ide, state)
        steps: list[Step] = [{"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                                       "payload": self._lock_payload(ide, state),
                                       "ack": ack_matcher(answer.codes), "timeout": ACK_WAIT}}]
        if asks:
            steps.append({"expect": {"actor": drone, "event": Event.REQUEST_SESSION_LOCK,
                                     "payload": {"chatSessionId": ide.chat.ref}}})
            if answer.ok:
                self.model.locked(state, ide.chat)
                steps += self._status_steps(state, "busy")
        steps.append(self._db(state, state.status, state.locked_by))
        self.act(f"{ide.name} asks for the lock of {drone}: {answer.describe()}", steps,
                 f"requestSessionLock of {drone} by {ide.name} ({ide.chat.label}) is answered "
                 f"{answer.describe()}; the registration is then {state.status}")

    @precondition(lambda self: bool(self._connected_ides()))
    @rule(data=st.data(), drone=st.sampled_from(["d0", "d1", "d2"]))
    def release(self, data: st.DataObject, drone: str) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        state = self.model.drones[drone]
        answer = self.model.release(ide, state)
        steps: list[Step] = [{"emit": {"actor": ide.name, "event": Event.RELEASE_SESSION_LOCK,
                                       "payload": self._lock_payload(ide, state),
                                       "ack": ack_matcher(answer.codes)}}]
        if answer.ok:
            self.model.released(state)
            steps.append({"expect": {"actor": drone, "event": Event.RELEASE_SESSION_LOCK,
                                     "payload": {"chatSessionId": ide.chat.ref}}})
            steps += self._status_steps(state, "online")
        steps.append(self._db(state, state.status, state.locked_by))
        self.act(f"{ide.name} releases the lock of {drone}: {answer.describe()}", steps,
                 f"releaseSessionLock of {drone} by {ide.name} is answered "
                 f"{answer.describe()}")

    @precondition(lambda self: bool(self._connected_ides()))
    @rule(data=st.data(), drone=st.sampled_from(["d0", "d1", "d2"]))
    def submit(self, data: st.DataObject, drone: str) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        state = self.model.drones[drone]
        answer, asks = self.model.submit(ide, state)
        payload = {**self._lock_payload(ide, state), "prompt": "explore"}
        ack = ack_matcher(answer.codes)
        capture = None
        if answer.ok:
            capture = self.model.next_capture()
            ack = {"ok": True, "workOrderId": {"$type": "objectid", "$capture": capture}}
        steps: list[Step] = [{"emit": {"actor": ide.name, "event": Event.SUBMIT_PROMPT,
                                       "payload": payload, "ack": ack, "timeout": ACK_WAIT}}]
        if asks:
            steps.append({"expect": {"actor": drone, "event": Event.SUBMIT_PROMPT,
                                     "payload": {"chatSessionId": ide.chat.ref}}})
        if capture is not None:
            streams = state.on_prompt == "stream"
            work_order = self.model.new_work_order(state, ide.chat,
                                                   "complete" if streams else "running")
            if streams:
                steps += self._stream_expectations(ide.chat, capture, _script_kinds())
            steps.append({"wait_until": {"db": {"work_order": f"${{capture.{capture}}}",
                                                "status": work_order.status}}})
        self.act(f"{ide.name} submits a prompt to {drone}: {answer.describe()}", steps,
                 f"submitPrompt to {drone} by {ide.name} is answered {answer.describe()}")

    def _streamable(self) -> list[WorkOrder]:
        return [w for w in self.model.work_orders if w.status == "running"
                and self.model.drones[w.drone].connected
                and self.model.drones[w.drone].locked_by == w.chat]

    @precondition(lambda self: bool(self._streamable()))
    @rule(data=st.data(), thinking=st.integers(0, 3))
    def drone_streams(self, data: st.DataObject, thinking: int) -> None:
        work_order = data.draw(st.sampled_from(self._streamable()), label="work order")
        work_order.status = "complete"
        script = {"thinking": thinking, "tool_calls": 0, "responses": 1}
        steps: list[Step] = [{"stream": {"actor": work_order.drone,
                                         "work_order": f"${{capture.{work_order.capture}}}",
                                         "chat_session": work_order.chat.ref,
                                         "script": script}}]
        kinds = [Event.THINKING] * thinking + [Event.RESPONSE]
        steps += self._stream_expectations(work_order.chat, work_order.capture, kinds)
        steps.append({"wait_until": {"db": {"work_order": f"${{capture.{work_order.capture}}}",
                                            "status": "complete"}}})
        self.act(f"{work_order.drone} streams {thinking + 1} events for "
                 f"{work_order.capture} and completes it: every IDE on {work_order.chat.label} "
                 "gets them in order", steps)

    # -- rules: lock races -------------------------------------------------------------------

    def _race_pairs(self) -> list[tuple[Ide, Ide, Drone]]:
        ides = self._connected_ides()
        return [(a, b, d) for a in ides for b in ides if a.name < b.name and a.user == b.user
                for d in self._connected_drones() if d.user == a.user and d.locked_by is None]

    @precondition(lambda self: bool(self._race_pairs()))
    @rule(data=st.data())
    def race(self, data: st.DataObject) -> None:
        first, second, drone = data.draw(st.sampled_from(self._race_pairs()), label="race")
        answer = self.model.race(first, second, drone)
        ack = ack_matcher(answer.codes)
        steps: list[Step] = [{"parallel": [
            {"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                      "payload": self._lock_payload(ide, drone), "ack": ack,
                      "timeout": ACK_WAIT}} for ide in (first, second)]}]
        steps.append({"expect": {"actor": drone.name, "event": Event.REQUEST_SESSION_LOCK}})
        accepts = drone.on_lock == "accept"
        if accepts and first.chat == second.chat:
            self.model.locked(drone, first.chat)
            steps += self._status_steps(drone, "busy")
            steps.append(self._db(drone, "busy", first.chat))
            outcome = f"{first.chat.label} holds it"
        elif accepts:
            steps.append({"wait_until": {"db": {
                "registration": f"${{{drone.name}.id}}", "status": "busy",
                "locked_by": {"$one_of": [first.chat.ref, second.chat.ref]}}}})
            steps += self._status_steps(drone, "busy")
            release = ack_matcher(frozenset({OK, ErrorCode.NOT_LOCKED}))
            steps += [{"emit": {"actor": ide.name, "event": Event.RELEASE_SESSION_LOCK,
                                "payload": self._lock_payload(ide, drone), "ack": release}}
                      for ide in (first, second)]
            steps += self._status_steps(drone, "online")
            steps.append(self._db(drone, "online", None))
            outcome = "one of the two holds it; both release (one ok, one not-locked)"
        else:
            steps.append(self._db(drone, "online", None))
            outcome = "neither holds it"
        self.act(f"{first.name} and {second.name} ask for the lock of {drone.name} at once: "
                 f"each {answer.describe()}; {outcome}", steps,
                 f"two lock requests for {drone.name} at once are each answered "
                 f"{answer.describe()}, never both ok from two chat sessions")

    def _retry_targets(self) -> list[tuple[Ide, Drone]]:
        return [(i, d) for i in self._connected_ides() for d in self._connected_drones()
                if d.user == i.user and d.locked_by is None]

    @precondition(lambda self: "retry" not in self.spent and bool(self._retry_targets()))
    @rule(data=st.data())
    def lock_retry(self, data: st.DataObject) -> None:
        self.spent.add("retry")
        ide, drone = data.draw(st.sampled_from(self._retry_targets()), label="retry")
        answer = self.model.retry(drone)
        payload = self._lock_payload(ide, drone)
        steps: list[Step] = [
            {"set_behaviour": {"actor": drone.name, "behaviour": {"on_lock": "ignore"}}},
            {"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                      "payload": payload, "may_ignore": True, "timeout": CLIENT_GIVES_UP}},
            {"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                      "payload": payload, "ack": ack_matcher(answer.codes),
                      "timeout": RETRY_WAIT}},
            {"expect": {"actor": drone.name, "event": Event.REQUEST_SESSION_LOCK}},
            self._db(drone, "online", None),
            # The first request may still wait for the drone (a relay that refused the retry
            # at once): give it the relay's ack timeout, in which no IDE may hear busy.
            {"expect_nothing": {"actor": ide.name, "for": "${relay.drone_ack_timeout}",
                                "events": [Event.DRONE_STATUS],
                                "payload": {"registrationId": f"${{{drone.name}.id}}",
                                            "status": "busy"}}},
            {"set_behaviour": {"actor": drone.name, "behaviour": {"on_lock": drone.on_lock}}},
        ]
        self.act(f"{drone.name} stops answering lock requests; {ide.name} asks, gives up "
                 f"after {CLIENT_GIVES_UP} s and asks again while the first waits: "
                 f"{answer.describe()}", steps,
                 f"a lock retry while the first request waits for {drone.name}, which never "
                 f"answers, is answered {answer.describe()}, never ok (contract 4)")

    # -- rules: HTTP -------------------------------------------------------------------------

    @staticmethod
    def _http_expect(answer: HttpAnswer) -> dict[str, Any]:
        status = one_of(sorted(answer.statuses))
        if answer.error is None:
            return {"status": status}
        return {"status": status, "body": {"ok": False, "error": answer.error}}

    def _live_pairs(self) -> list[tuple[int, str]]:
        return [(d.user, d.name) for d in self._connected_drones()]

    @rule(data=st.data(), which=st.sampled_from(["live", "any"]))
    def terminate(self, data: st.DataObject, which: str) -> None:
        """A user terminates a drone over HTTP: one of theirs that is connected (``live``),
        or any drone of either user (``any``: another user's, an offline one)."""
        pairs = self._live_pairs() if which == "live" else []
        if not pairs:
            pairs = [(api, name) for api in (0, 1) for name in self.model.drones]
        api, drone = data.draw(st.sampled_from(pairs), label="api and drone")
        self._terminate(api, drone)

    def _terminate(self, api: int, drone: str) -> None:
        state = self.model.drones[drone]
        answer = self.model.terminate(api, state)
        steps: list[Step] = [{"http": {
            "actor": f"api{api}", "method": "POST",
            "path": f"/api/v1/drone/registration/${{{drone}.id}}/terminate",
            "timeout": TERMINATE_WAIT, "expect": self._http_expect(answer)}}]
        if answer.error is None or (state.connected and state.user == api):
            steps.append({"expect": {"actor": drone, "event": Event.REQUEST_TERMINATION}})
        if answer.error is None:
            wait = HEARTBEAT_WAIT if len(answer.statuses) > 1 else None
            aborted = self.model.drone_gone(state)
            steps.append(self._db(state, "offline", None, wait=wait))
            steps += self._aborted(aborted)
            steps += self._status_steps(state, "offline", wait)
        self.act(f"api{api} terminates {drone}: {answer.describe()}", steps,
                 f"POST terminate of {drone} by user {api} is answered {answer.describe()}")

    # -- rules: the relay and the network ----------------------------------------------------

    @precondition(lambda self: self.session.restart and "restart" not in self.spent)
    @rule()
    def relay_restarts(self) -> None:
        self.spent.add("restart")
        steps: list[Step] = [{"restart_relay": {"timeout": 30}}]
        back = _names(self._connected_drones()) + _names(self._connected_ides())
        if back:
            steps.append({"wait_until": {"connected": back, "timeout": 20}})
        for drone in self._connected_drones():
            aborted = self.model.drone_reaped(drone)
            self.model.drone_connected(drone)
            steps.append(self._db(drone, "online", None))
            steps += self._aborted(aborted)
        for ide in self._connected_ides():
            if ide.opened:
                steps.append(self._open_step(ide, ide.chat, Answer.of(OK)))
        self.act("the relay restarts: every client comes back by itself, the drones online "
                 "with no lock, their running work orders aborted; the IDEs reopen", steps,
                 "after a relay restart every client reconnects by itself (transport close, "
                 "not io server disconnect) and no lock survives")

    @precondition(lambda self: self.session.faults and "silent" not in self.spent
                  and bool(self._connected_drones()))
    @rule(data=st.data())
    def drone_goes_silent(self, data: st.DataObject) -> None:
        self.spent.add("silent")
        drone = data.draw(st.sampled_from(self._connected_drones()), label="drone")
        aborted = self.model.drone_reaped(drone)
        steps: list[Step] = [
            {"fault": {"actor": drone.name, "toxic": "timeout", "ms": 0}},
            self._db(drone, "offline", None, wait=HEARTBEAT_WAIT),
            *self._aborted(aborted), *self._status_steps(drone, "offline"),
            {"fault": {"actor": drone.name, "clear": True}},
            {"wait_until": {"connected": [drone.name], "timeout": 15}},
        ]
        self.model.drone_connected(drone)
        steps.append(self._db(drone, "online", None))
        self.act(f"{drone.name}'s link goes silent, its connection left open: within the "
                 "relay's heartbeat it is offline, unlocked, its IDEs told; the link comes "
                 "back and so does the drone, unlocked", steps,
                 f"a silent {drone.name} is offline within the relay's heartbeat "
                 "(${relay.heartbeat})")

    @precondition(lambda self: self.session.faults and bool(self._connected_ides()))
    @rule(data=st.data())
    def ide_blips(self, data: st.DataObject) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        # Refused while it is cut off, so the step after the cut sees it gone (a reconnection
        # within the poll would hide the loss, and an emit on the dying socket is lost).
        steps: list[Step] = [{"fault": {"actor": ide.name, "refuse": True}},
                             {"fault": {"actor": ide.name, "cut": True}},
                             {"wait_until": {"disconnected": [ide.name], "timeout": 10}},
                             {"fault": {"actor": ide.name, "refuse": False}},
                             {"wait_until": {"connected": [ide.name], "timeout": 15}}]
        if ide.opened:
            steps.append(self._open_step(ide, ide.chat, Answer.of(OK)))
        self.act(f"{ide.name}'s connection is cut; it reconnects by itself"
                 + (" and reopens its chat session" if ide.opened else ""), steps)


def _script_kinds() -> list[str]:
    return ([Event.THINKING] * SCRIPT["thinking"] + [Event.TOOL_CALL] * SCRIPT["tool_calls"]
            + [Event.RESPONSE] * SCRIPT["responses"])


__all__ = ["ExploreFailure", "ExploreMachine", "Session", "StopExploring", "assume"]
