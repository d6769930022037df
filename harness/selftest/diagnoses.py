"""What a good diagnosis of each ``--regress`` switch says, and the classifier that checks it.

A switch counts as *caught* only when some scenario fails with a one-line message that
names the actual problem: the thing that broke, identified (a drone by name and
registration id, a map by name and the key it kept). A failure that only says that time
ran out ("nothing arrived in 5 s", "the scenario did not finish within its timeout") or
names something unrelated does not count: it proves the pack noticed *something*, not that
a person reading it would know what is broken.

Each switch declares its diagnoses as facts a failure must carry (``harness.outcome.facts``:
a failure's message is worded from them, so rewording it changes nothing here); add one
here with every new switch in ``harness.settings.REGRESSIONS`` (``docs/selftest.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError
from harness.outcome.facts import Fact, FactKind
from harness.protocol import ErrorCode, Event
from harness.settings import REGRESSIONS, Heartbeat

_FORWARDED = frozenset({Event.REQUEST_SESSION_LOCK, Event.RELEASE_SESSION_LOCK,
                        Event.SUBMIT_PROMPT, Event.REQUEST_TERMINATION})
_OFFLINE = frozenset({ErrorCode.DRONE_OFFLINE, ErrorCode.DRONE_DISCONNECTED})
_INDEXES = frozenset({"dronesByRegistration", "codeSessionsByUser",
                      "codeSessionsByChatSession"})


@dataclass(frozen=True)
class Clue:
    """One way to name a problem: ``what`` it establishes, and the fact that says it: a
    fact of ``kind`` whose fields hold one of the values given (any value when empty)."""

    what: str
    kind: FactKind
    events: frozenset[str] = frozenset()
    errors: frozenset[str] = frozenset()
    maps: frozenset[str] = frozenset()
    role: str | None = None
    want: str | None = None
    have: str | None = None

    def fits(self, fact: Fact) -> bool:
        """True when ``fact`` is this clue."""
        return fact.kind == self.kind \
            and (not self.events or fact.event in self.events) \
            and (not self.errors or fact.error in self.errors) \
            and (not self.maps or fact.map in self.maps) \
            and (self.role is None or fact.role == self.role) \
            and (self.want is None or fact.want == self.want) \
            and (self.have is None or fact.have == self.have)

    def found_in(self, facts: Iterable[Fact]) -> bool:
        """True when one of ``facts`` is this clue."""
        return any(self.fits(fact) for fact in facts)


@dataclass(frozen=True)
class Diagnosis:
    """The bug a switch brings back (``bug``) and the clues that name it."""

    switch: str
    bug: str
    clues: tuple[Clue, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Relay settings the switch's run uses instead of the pack's, where the bug shows
    only under them (``RelaySettings`` field names), with the reason in a comment."""

    def clue_in(self, facts: Iterable[Fact]) -> Clue | None:
        """The first clue among a failure's ``facts``, or None (a generic or unrelated
        failure)."""
        facts = tuple(facts)
        return next((clue for clue in self.clues if clue.found_in(facts)), None)


DIAGNOSES: Mapping[str, Diagnosis] = {
    "lookup-by-socket-id": Diagnosis(
        "lookup-by-socket-id",
        "lookups by registration, user or chat session id read the socket-id map, so "
        "connected drones look offline and nothing is forwarded",
        (
            Clue("the relay called a connected drone offline", "connected-anyway",
                 errors=_OFFLINE),
            Clue("an event for a drone never reached it", "never-reached", events=_FORWARDED,
                 role="drone"),
            Clue("the owner's IDEs were never told of a drone", "never-reached",
                 events=frozenset({Event.DRONE_STATUS, Event.DRONE_RECOVERED}), role="ide"),
        ),
    ),
    "no-termination-handler": Diagnosis(
        "no-termination-handler",
        "the relay never forwards requestTermination to the drone",
        (
            Clue("requestTermination never reached the drone", "never-reached",
                 events=frozenset({Event.REQUEST_TERMINATION}), role="drone"),
        ),
    ),
    "stale-index-on-disconnect": Diagnosis(
        "stale-index-on-disconnect",
        "a disconnect removes the session from the primary map but not from the indexes",
        (
            Clue("an index kept an entry after its client left", "map-holds", maps=_INDEXES),
            Clue("the relay still routes to a drone that left", "not-connected"),
        ),
    ),
    "lock-retry-ok": Diagnosis(
        "lock-retry-ok",
        "a lock request that arrives while another waits for the drone's answer is answered "
        "ok although the drone never accepted it",
        (
            Clue("the relay granted a lock it should have refused", "ack-answer",
                 events=frozenset({Event.REQUEST_SESSION_LOCK}), want="refused", have="ok"),
        ),
    ),
    "termination-waits-for-transport": Diagnosis(
        "termination-waits-for-transport",
        "after a drone accepts termination the relay waits for its transport to report the "
        "exit, which a polling drone's does only at the ping timeout, so the IDE gets a 504",
        (
            Clue("the relay missed a drone that took termination and exited",
                 "exited-unnoticed", events=frozenset({Event.REQUEST_TERMINATION})),
        ),
        # The wait hurts only when the heartbeat outlasts the termination's 10 s poll, as
        # socket.io's default 25 s + 20 s does; the pack's relay notices within 5 s.
        settings={"ping_interval": Heartbeat.SOCKETIO_PING_INTERVAL,
                  "ping_timeout": Heartbeat.SOCKETIO_PING_TIMEOUT},
    ),
    "restart-strands-clients": Diagnosis(
        "restart-strands-clients",
        "on its way down the relay says goodbye to every socket (io server disconnect) "
        "instead of closing the transports, so socket.io-client never reconnects",
        (
            Clue("a client the relay's stop left unable to reconnect", "stranded"),
        ),
    ),
    "no-heartbeat-reaping": Diagnosis(
        "no-heartbeat-reaping",
        "the relay never drops a client that stops answering its pings",
        (
            Clue("the relay kept a drone that stopped answering past its heartbeat",
                 "kept-silent", role="drone"),
        ),
    ),
}
"""Every switch of ``REGRESSIONS`` -> what a failure must establish to have caught it."""


def diagnosis_of(switch: str) -> Diagnosis:
    """The diagnosis of ``switch``; raises ``ConfigError`` for a switch without one."""
    try:
        return DIAGNOSES[switch]
    except KeyError:
        raise ConfigError(f"selftest: switch {switch!r} declares no diagnosis; add one to "
                          "harness/selftest/diagnoses.py (see docs/selftest.md)") from None


def undiagnosed() -> list[str]:
    """Switches of ``REGRESSIONS`` with no diagnosis (must be empty)."""
    return [switch for switch in REGRESSIONS if switch not in DIAGNOSES]
