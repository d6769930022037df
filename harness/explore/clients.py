"""The explorer's rules about clients coming and going: the start, drones and IDEs that
connect, leave, restart and open chat sessions, the relay restarting, links going silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from harness.explore.example import Example
from harness.explore.expectations import (
    HEARTBEAT_WAIT,
    aborted_steps,
    db_step,
    map_steps,
    open_step,
    status_steps,
)
from harness.explore.model import OK, RELAY_RESTART, Answer, Chat, Drone, Ide
from harness.explore.program import Step
from harness.protocol import ErrorCode, Event

# How a drone answers, drawn once per example: as usual (about half the drones: most of
# what can go wrong needs a drone that cooperates), or each answer drawn from these.
USUAL = ("accept", "stream", "accept")
LOCK_ANSWERS = ("accept", "refuse", "ignore")
PROMPT_ANSWERS = ("stream", "accept", "refuse")
TERMINATION_ANSWERS = ("accept", "refuse", "ignore")
COSTLY = frozenset({"restart", "silent"})
COSTLY_ONE_IN = 2


def _names(items: Sequence[Drone | Ide]) -> list[str]:
    return [item.name for item in items]

class ClientRules(Example):
    """Clients come and go."""

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
            steps.append(db_step(drone, "online", None))
        for name in ides:
            self.model.ides[name].connected = True
        if open_all:
            for name in ides:
                ide = self.model.ides[name]
                steps.append(open_step(ide, ide.chat, Answer.of(OK)))
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
        steps = [{"connect": [drone.name]}, db_step(drone, "online", None),
                 *status_steps(self.model, drone, "online")]
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
                     "(contract 3, 9)", [{how: [actor.name]}, *map_steps(self.model)])
            return
        drone = actor
        aborted = self.model.drone_gone(drone)
        # A long-polling client that vanishes leaves no connection to close: the relay
        # notices at its heartbeat.
        wait = HEARTBEAT_WAIT if how == "crash" and drone.transport == "polling" else None
        steps = [{how: [drone.name]}, db_step(drone, "offline", None, wait=wait),
                 *aborted_steps(aborted), *status_steps(self.model, drone, "offline", wait),
                 *map_steps(self.model, wait)]
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
                             *status_steps(self.model, drone, drone.status)]
        if chat is not None:
            steps += [{"expect": {"actor": i.name, "event": Event.DRONE_RECOVERED,
                                  "payload": {"registrationId": f"${{{drone.name}.id}}",
                                              "chatSessionId": chat.ref}}}
                      for i in self.model.watchers(chat)]
        steps.append(db_step(drone, drone.status, drone.locked_by))
        held = f"the lock of {chat.label}" if chat else "no lock"
        self.act(f"{drone.name} restarts (a new connection replaces the old: a handover) and "
                 f"asks for crash recovery: {held}", steps)

    # -- rules: IDEs -------------------------------------------------------------------------

    def _offline_ides(self) -> list[Ide]:
        return [i for i in self.model.ides.values() if not i.connected]

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
                 [open_step(ide, chat, answer)],
                 f"openChatSession of {chat.label} by {ide.name} (user {ide.user}) is "
                 f"answered {answer.describe()}")

    # -- rules: the relay and the network ----------------------------------------------------

    @precondition(lambda self: self.session.restart and "restart" not in self.spent)
    @rule()
    def relay_restarts(self) -> None:
        self.spent.add("restart")
        self.model.references.append(RELAY_RESTART)
        steps: list[Step] = [{"restart_relay": {"timeout": 30}}]
        back = _names(self._connected_drones()) + _names(self._connected_ides())
        if back:
            steps.append({"wait_until": {"connected": back, "timeout": 20}})
        for drone in self._connected_drones():
            aborted = self.model.drone_reaped(drone)
            self.model.drone_connected(drone)
            steps.append(db_step(drone, "online", None))
            steps += aborted_steps(aborted)
        for ide in self._connected_ides():
            if ide.opened:
                steps.append(open_step(ide, ide.chat, Answer.of(OK)))
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
            db_step(drone, "offline", None, wait=HEARTBEAT_WAIT),
            *aborted_steps(aborted), *status_steps(self.model, drone, "offline"),
            {"fault": {"actor": drone.name, "clear": True}},
            {"wait_until": {"connected": [drone.name], "timeout": 15}},
        ]
        self.model.drone_connected(drone)
        steps.append(db_step(drone, "online", None))
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
            steps.append(open_step(ide, ide.chat, Answer.of(OK)))
        self.act(f"{ide.name}'s connection is cut; it reconnects by itself"
                 + (" and reopens its chat session" if ide.opened else ""), steps)


