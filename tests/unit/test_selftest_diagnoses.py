"""The "names the problem" classifier: real failure lines count, generic timeouts do not."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.selftest import DIAGNOSES, diagnosis_of, undiagnosed
from harness.settings import REGRESSIONS

REG = "6b07e3c532c6e3709bd6ddce"
USER = "6b07e3c532c6e3709bd6ddca"
CHAT = "6b07e3d132c6e3709bd6de51"

# One-line reasons as the engine writes them (copied from selftest runs).
OFFLINE_ACK = (
    f"the ack of requestSessionLock from ide ide (user {USER}): expected ok, got refused "
    f"'drone-offline' ('requestSessionLock: drone {REG} has no live connection'), but drone d0 "
    f"({REG}) is connected as aYa8u_YNG9__HWS6AAAB; requestSessionLock never reached drone "
    f"d0 ({REG})")
DISCONNECTED_HTTP = (
    f"POST /api/v1/drone/registration/{REG}/terminate answered 409 drone-disconnected "
    f"('drone {REG} is registered online but has no live connection'), expected 200, but "
    f"drone d0 ({REG}) is connected as 27ddAk49J63IWX7gAAA1")
EXPECT_WITH_ANSWER = (
    f"requestSessionLock never reached drone d0 ({REG}): nothing arrived in 0.5 s; the relay "
    f"answered requestSessionLock of ide ide (user {USER}) with drone-offline ('no live "
    "connection') instead, though it is connected as Qc_9sXa3GSGBJHkKAAAr")
NO_TERMINATION = (
    f"POST /api/v1/drone/registration/{REG}/terminate answered 504 termination-timeout "
    f"('drone {REG} did not acknowledge requestTermination within 5 s'), expected 200; "
    f"requestTermination never reached drone d0 ({REG})")
INDEX_LEAK = (
    f"[leaks] the relay's codeSessionsByChatSession map still holds {CHAT} (a chat session "
    "of this run) after every client disconnected (and 2 more, below)")
WAITED_LEAK = f"the relay's dronesByRegistration map still holds {REG} (waited 5 s)"
GONE = (
    f"the ack of submitPrompt from ide ide (user {USER}): expected refused 'drone-offline', got "
    f"refused 'not-locked' ('submitPrompt: drone {REG} is not locked by chat session {CHAT}'), "
    f"though drone d0 ({REG}) is not connected")

RETRY_OK = (  # copied from a run of locking/drone-timeout with --regress lock-retry-ok
    f"the ack of requestSessionLock from ide ide (user {USER}): expected refused "
    "'drone-locked' or 'drone-rejected', got ok {\"ok\": true}")

GENERIC = [
    f"thinking never reached ide ide (user {USER}): nothing arrived in 5 s",
    "the scenario did not finish within its timeout of 60 s",
    f"no ack for requestSessionLock reached ide ide (user {USER}) within 5 s",
    f"POST /api/v1/drone/registration/{REG}/terminate answered 504, expected 200",
    f"droneStatus reached ide ide (user {USER}) at +0.029 s, during a quiet period of 0.2 s",
    f"registration {REG} has status 'online', expected busy (waited 5 s)",
]


def test_every_switch_declares_a_diagnosis() -> None:
    assert undiagnosed() == []
    assert set(DIAGNOSES) == set(REGRESSIONS)
    for switch, diagnosis in DIAGNOSES.items():
        assert diagnosis.switch == switch and diagnosis.bug and diagnosis.clues


def test_a_switch_without_a_diagnosis_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="'made-up' declares no diagnosis"):
        diagnosis_of("made-up")


@pytest.mark.parametrize(
    ("switch", "message", "clue"),
    [
        ("lookup-by-socket-id", OFFLINE_ACK, "the relay called a connected drone offline"),
        ("lookup-by-socket-id", DISCONNECTED_HTTP, "the relay called a connected drone offline"),
        ("lookup-by-socket-id", EXPECT_WITH_ANSWER, "the relay called a connected drone offline"),
        ("lookup-by-socket-id", f"submitPrompt never reached drone d1 ({REG}): nothing arrived "
                                "in 5 s", "an event for a drone never reached it"),
        ("no-termination-handler", NO_TERMINATION, "requestTermination never reached the drone"),
        ("stale-index-on-disconnect", INDEX_LEAK, "an index kept an entry after its client left"),
        ("stale-index-on-disconnect", WAITED_LEAK, "an index kept an entry after its client left"),
        ("stale-index-on-disconnect", GONE, "the relay still routes to a drone that left"),
        ("lock-retry-ok", RETRY_OK, "the relay granted a lock it should have refused"),
    ],
)
def test_a_message_that_names_the_problem_counts(switch: str, message: str, clue: str) -> None:
    found = DIAGNOSES[switch].clue_in(message)
    assert found is not None and found.what == clue


@pytest.mark.parametrize("message", GENERIC)
@pytest.mark.parametrize("switch", REGRESSIONS)
def test_a_generic_failure_names_no_switch(switch: str, message: str) -> None:
    assert DIAGNOSES[switch].clue_in(message) is None


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        # the right words about the wrong thing
        ("no-termination-handler", OFFLINE_ACK),
        ("stale-index-on-disconnect", NO_TERMINATION),
        ("lookup-by-socket-id", INDEX_LEAK),
        # the primary map is not an index: a socket left there is another bug
        ("stale-index-on-disconnect",
         "[leaks] the relay's sessions map still holds abcdefabcdefabcdefabcdef"),
        # offline, and the drone really is not connected: no bug named
        ("lookup-by-socket-id",
         f"the ack of submitPrompt from ide ide (user {USER}): expected ok, got refused "
         f"'drone-offline' ('drone {REG} has no live connection')"),
        # a drone named without its registration id is not identified
        ("no-termination-handler", "requestTermination never reached drone d0: nothing"),
    ],
)
def test_a_message_about_something_else_does_not_count(switch: str, message: str) -> None:
    assert DIAGNOSES[switch].clue_in(message) is None
