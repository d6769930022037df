"""The explorer's rules about requests: locks, releases, prompts and streams, two IDEs
racing for one drone, a lock retry after the IDE's own timeout, termination over HTTP.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from harness.explore.example import Example
from harness.explore.expectations import (
    ACK_WAIT,
    HEARTBEAT_WAIT,
    RETRY_WAIT,
    TERMINATE_WAIT,
    aborted_steps,
    db_step,
    http_expect,
    lock_payload,
    script_kinds,
    status_steps,
    stream_steps,
)
from harness.explore.model import OK, Drone, Ide, WorkOrder
from harness.explore.program import Step, ack_matcher
from harness.protocol import ErrorCode, Event

CLIENT_GIVES_UP = 0.3  # the IDE's own timeout before it retries a lock request


class RequestRules(Example):
    """IDEs and users ask."""

    # -- rules: locks and prompts ------------------------------------------------------------

    @precondition(lambda self: bool(self._connected_ides()))
    @rule(data=st.data(), drone=st.sampled_from(["d0", "d1", "d2"]))
    def lock(self, data: st.DataObject, drone: str) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        state = self.model.drones[drone]
        answer, asks = self.model.lock(ide, state)
        steps: list[Step] = [{"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                                       "payload": lock_payload(ide, state),
                                       "ack": ack_matcher(answer.codes), "timeout": ACK_WAIT}}]
        if asks:
            steps.append({"expect": {"actor": drone, "event": Event.REQUEST_SESSION_LOCK,
                                     "payload": {"chatSessionId": ide.chat.ref}}})
            if answer.ok:
                self.model.locked(state, ide.chat)
                steps += status_steps(self.model, state, "busy")
        steps.append(db_step(state, state.status, state.locked_by))
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
                                       "payload": lock_payload(ide, state),
                                       "ack": ack_matcher(answer.codes)}}]
        if answer.ok:
            self.model.released(state)
            steps.append({"expect": {"actor": drone, "event": Event.RELEASE_SESSION_LOCK,
                                     "payload": {"chatSessionId": ide.chat.ref}}})
            steps += status_steps(self.model, state, "online")
        steps.append(db_step(state, state.status, state.locked_by))
        self.act(f"{ide.name} releases the lock of {drone}: {answer.describe()}", steps,
                 f"releaseSessionLock of {drone} by {ide.name} is answered "
                 f"{answer.describe()}")

    @precondition(lambda self: bool(self._connected_ides()))
    @rule(data=st.data(), drone=st.sampled_from(["d0", "d1", "d2"]))
    def submit(self, data: st.DataObject, drone: str) -> None:
        ide = data.draw(st.sampled_from(self._connected_ides()), label="ide")
        state = self.model.drones[drone]
        answer, asks = self.model.submit(ide, state)
        payload = {**lock_payload(ide, state), "prompt": "explore"}
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
                steps += stream_steps(self.model, ide.chat, capture, script_kinds())
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
        script = {"thinking": thinking, "tool_calls": 0, "responses": 1, "interleave": False}
        steps: list[Step] = [{"stream": {"actor": work_order.drone,
                                         "work_order": f"${{capture.{work_order.capture}}}",
                                         "chat_session": work_order.chat.ref,
                                         "script": script}}]
        kinds = [Event.THINKING] * thinking + [Event.RESPONSE]
        steps += stream_steps(self.model, work_order.chat, work_order.capture, kinds)
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
                      "payload": lock_payload(ide, drone), "ack": ack,
                      "timeout": ACK_WAIT}} for ide in (first, second)]}]
        steps.append({"expect": {"actor": drone.name, "event": Event.REQUEST_SESSION_LOCK}})
        accepts = drone.on_lock == "accept"
        if accepts and first.chat == second.chat:
            self.model.locked(drone, first.chat)
            steps += status_steps(self.model, drone, "busy")
            steps.append(db_step(drone, "busy", first.chat))
            outcome = f"{first.chat.label} holds it"
        elif accepts:
            steps.append({"wait_until": {"db": {
                "registration": f"${{{drone.name}.id}}", "status": "busy",
                "locked_by": {"$one_of": [first.chat.ref, second.chat.ref]}}}})
            steps += status_steps(self.model, drone, "busy")
            release = ack_matcher(frozenset({OK, ErrorCode.NOT_LOCKED}))
            steps += [{"emit": {"actor": ide.name, "event": Event.RELEASE_SESSION_LOCK,
                                "payload": lock_payload(ide, drone), "ack": release}}
                      for ide in (first, second)]
            steps += status_steps(self.model, drone, "online")
            steps.append(db_step(drone, "online", None))
            outcome = "one of the two holds it; both release (one ok, one not-locked)"
        else:
            steps.append(db_step(drone, "online", None))
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
        payload = lock_payload(ide, drone)
        steps: list[Step] = [
            {"set_behaviour": {"actor": drone.name, "behaviour": {"on_lock": "ignore"}}},
            {"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                      "payload": payload, "may_ignore": True, "timeout": CLIENT_GIVES_UP}},
            {"emit": {"actor": ide.name, "event": Event.REQUEST_SESSION_LOCK,
                      "payload": payload, "ack": ack_matcher(answer.codes),
                      "timeout": RETRY_WAIT}},
            {"expect": {"actor": drone.name, "event": Event.REQUEST_SESSION_LOCK}},
            db_step(drone, "online", None),
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
            "timeout": TERMINATE_WAIT, "expect": http_expect(answer)}}]
        if answer.error is None or (state.connected and state.user == api):
            steps.append({"expect": {"actor": drone, "event": Event.REQUEST_TERMINATION}})
        if answer.error is None:
            wait = HEARTBEAT_WAIT if len(answer.statuses) > 1 else None
            aborted = self.model.drone_gone(state)
            steps.append(db_step(state, "offline", None, wait=wait))
            steps += aborted_steps(aborted)
            steps += status_steps(self.model, state, "offline", wait)
        self.act(f"api{api} terminates {drone}: {answer.describe()}", steps,
                 f"POST terminate of {drone} by user {api} is answered {answer.describe()}")

