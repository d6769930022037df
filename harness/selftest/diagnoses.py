"""What a good diagnosis of each ``--regress`` switch says, and the classifier that checks it.

A switch counts as *caught* only when some scenario fails with a one-line message that
names the actual problem: the thing that broke, identified (a drone by name and
registration id, a map by name and the key it kept). A failure that only says that time
ran out ("nothing arrived in 5 s", "the scenario did not finish within its timeout") or
names something unrelated does not count: it proves the pack noticed *something*, not that
a person reading it would know what is broken.

Each switch declares its diagnoses as regular expressions over the failure message; add one
here with every new switch in ``harness.settings.REGRESSIONS`` (``docs/selftest.md``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.settings import REGRESSIONS

_ID = r"[0-9a-f]{24}"
_DRONE = rf"drone \S+ \({_ID}\)"  # how the engine labels a drone actor: drone d0 (<id>)
_FORWARDED = r"(?:requestSessionLock|releaseSessionLock|submitPrompt|requestTermination)"
_INDEXES = r"(?:dronesByRegistration|codeSessionsByUser|codeSessionsByChatSession)"


@dataclass(frozen=True)
class Clue:
    """One way to name a problem: ``what`` it establishes, and the ``pattern`` saying it."""

    what: str
    pattern: str

    def found_in(self, message: str) -> bool:
        """True when ``message`` contains the clue."""
        return re.search(self.pattern, message) is not None


@dataclass(frozen=True)
class Diagnosis:
    """The bug a switch brings back (``bug``) and the clues that name it."""

    switch: str
    bug: str
    clues: tuple[Clue, ...]

    def clue_in(self, message: str) -> Clue | None:
        """The first clue ``message`` contains, or None (a generic or unrelated failure)."""
        return next((clue for clue in self.clues if clue.found_in(message)), None)


DIAGNOSES: Mapping[str, Diagnosis] = {
    "lookup-by-socket-id": Diagnosis(
        "lookup-by-socket-id",
        "lookups by registration, user or chat session id read the socket-id map, so "
        "connected drones look offline and nothing is forwarded",
        (
            Clue("the relay called a connected drone offline",
                 rf"drone-(?:offline|disconnected)\b.*, but {_DRONE} is connected as \S+"),
            Clue("the relay called a connected drone offline",
                 r"drone-(?:offline|disconnected)\b.* instead, though it is connected as \S+"),
            Clue("an event for a drone never reached it",
                 rf"{_FORWARDED} never reached {_DRONE}"),
        ),
    ),
    "no-termination-handler": Diagnosis(
        "no-termination-handler",
        "the relay never forwards requestTermination to the drone",
        (
            Clue("requestTermination never reached the drone",
                 rf"requestTermination never reached {_DRONE}"),
        ),
    ),
    "stale-index-on-disconnect": Diagnosis(
        "stale-index-on-disconnect",
        "a disconnect removes the session from the primary map but not from the indexes",
        (
            Clue("an index kept an entry after its client left",
                 rf"the relay's {_INDEXES} map still holds {_ID}"),
            Clue("the relay still routes to a drone that left",
                 rf"(?:with|got refused) \S+ .*, though {_DRONE} is not connected"),
        ),
    ),
    "lock-retry-ok": Diagnosis(
        "lock-retry-ok",
        "a lock request that arrives while another waits for the drone's answer is answered "
        "ok although the drone never accepted it",
        (
            Clue("the relay granted a lock it should have refused",
                 r"the ack of requestSessionLock from .*: expected refused .*, got ok"),
        ),
    ),
}
"""Every switch of ``REGRESSIONS`` -> what a failure must say to have caught it."""


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
