"""The "names the problem" classifier: failures that establish the bug count, generic
timeouts and facts about something else do not. It reads facts, never message text."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.outcome.facts import Fact
from harness.selftest import DIAGNOSES, diagnosis_of, undiagnosed
from harness.settings import REGRESSIONS

REG = "6b07e3c532c6e3709bd6ddce"
CHAT = "6b07e3d132c6e3709bd6de51"
D0 = f"drone d0 ({REG})"

# The facts behind failures copied from selftest runs (their messages in comments).
# "the ack of requestSessionLock ...: expected ok, got refused 'drone-offline' (...), but
#  drone d0 (<id>) is connected as aYa8u...; requestSessionLock never reached drone d0"
OFFLINE_ACK = (
    Fact("ack-answer", event="requestSessionLock", who="ide ide", expected="ok",
         got="refused 'drone-offline'", want="ok", have="refused", error="drone-offline"),
    Fact("connected-anyway", actor="d0", role="drone", who=D0, registration=REG,
         error="drone-offline", sid="aYa8u_YNG9__HWS6AAAB"),
    Fact("never-reached", event="requestSessionLock", actor="d0", role="drone", who=D0,
         registration=REG),
)
# "POST .../terminate answered 409 drone-disconnected (...), expected 200, but drone d0 ..."
DISCONNECTED_HTTP = (Fact("connected-anyway", actor="d0", role="drone", who=D0,
                          registration=REG, error="drone-disconnected", sid="27ddAk49J"),)
# "requestSessionLock never reached drone d0 (...): nothing arrived in 0.5 s; the relay
#  answered ... with drone-offline (...) instead, but drone d0 (...) is connected as Qc_9s..."
EXPECT_WITH_ANSWER = (
    Fact("never-reached", event="requestSessionLock", actor="d0", role="drone", who=D0),
    Fact("relay-answered", actor="d0", role="drone", who=D0, registration=REG,
         answer="requestSessionLock of ide ide with drone-offline", error="drone-offline"),
    Fact("connected-anyway", actor="d0", role="drone", who=D0, registration=REG,
         error="drone-offline", sid="Qc_9sXa3GSGBJHkKAAAr"),
)
SUBMIT_MISSED = (Fact("never-reached", event="submitPrompt", actor="d1", role="drone",
                      who=f"drone d1 ({REG})"),)
NO_TERMINATION = (Fact("never-reached", event="requestTermination", actor="d0", role="drone",
                       who=D0, registration=REG),)
INDEX_LEAK = (Fact("map-holds", map="codeSessionsByChatSession", key=CHAT),)
WAITED_LEAK = (Fact("map-holds", map="dronesByRegistration", key=REG),)
GONE = (Fact("ack-answer", event="submitPrompt", who="ide ide",
             expected="refused 'drone-offline'", got="refused 'not-locked'", want="refused",
             have="refused", error="not-locked"),
        Fact("not-connected", actor="d0", role="drone", who=D0, registration=REG,
             error="not-locked"))
RETRY_OK = (Fact("ack-answer", event="requestSessionLock", who="ide ide",
                 expected="refused 'drone-locked' or 'drone-rejected'", got='ok {"ok": true}',
                 want="refused", have="ok"),)

# "POST .../terminate answered 504 termination-timeout (...), expected 200; drone d0 (<id>)
#  took requestTermination and exited, but the relay did not notice it go"
EXITED = (Fact("exited-unnoticed", event="requestTermination", actor="d0", role="drone",
               who=D0, registration=REG, error="termination-timeout"),)

GENERIC: list[tuple[Fact, ...]] = [
    (),  # "the scenario did not finish within its timeout of 60 s", "no ack ... within 5 s"
    (Fact("never-reached", event="thinking", actor="ide", role="ide", who="ide ide"),),
    (Fact("ack-answer", event="submitPrompt", who="ide ide", expected="ok",
          got="refused 'not-locked'", want="ok", have="refused", error="not-locked"),),
    (Fact("map-lacks", map="dronesByRegistration", key=REG),),
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
    ("switch", "facts", "clue"),
    [
        ("lookup-by-socket-id", OFFLINE_ACK, "the relay called a connected drone offline"),
        ("lookup-by-socket-id", DISCONNECTED_HTTP, "the relay called a connected drone offline"),
        ("lookup-by-socket-id", EXPECT_WITH_ANSWER, "the relay called a connected drone offline"),
        ("lookup-by-socket-id", SUBMIT_MISSED, "an event for a drone never reached it"),
        ("no-termination-handler", NO_TERMINATION, "requestTermination never reached the drone"),
        ("stale-index-on-disconnect", INDEX_LEAK, "an index kept an entry after its client left"),
        ("stale-index-on-disconnect", WAITED_LEAK, "an index kept an entry after its client left"),
        ("stale-index-on-disconnect", GONE, "the relay still routes to a drone that left"),
        ("lock-retry-ok", RETRY_OK, "the relay granted a lock it should have refused"),
        ("termination-waits-for-transport", EXITED,
         "the relay missed a drone that took termination and exited"),
    ],
)
def test_a_failure_that_establishes_the_problem_counts(switch: str, facts: tuple[Fact, ...],
                                                       clue: str) -> None:
    found = DIAGNOSES[switch].clue_in(facts)
    assert found is not None and found.what == clue


@pytest.mark.parametrize("facts", GENERIC)
@pytest.mark.parametrize("switch", REGRESSIONS)
def test_a_generic_failure_names_no_switch(switch: str, facts: tuple[Fact, ...]) -> None:
    assert DIAGNOSES[switch].clue_in(facts) is None


@pytest.mark.parametrize(
    ("switch", "facts"),
    [
        # the right facts about the wrong thing
        ("no-termination-handler", OFFLINE_ACK),
        ("stale-index-on-disconnect", NO_TERMINATION),
        ("lookup-by-socket-id", INDEX_LEAK),
        # the primary map is not an index: a socket left there is another bug
        ("stale-index-on-disconnect", (Fact("map-holds", map="sessions", key=REG),)),
        # offline, and the drone really is not connected: no bug named
        ("lookup-by-socket-id", (Fact("ack-answer", event="submitPrompt", who="ide ide",
                                      expected="ok", got="refused 'drone-offline'",
                                      want="ok", have="refused", error="drone-offline"),)),
        # a drone that left before it was asked is another bug (a stale index)
        ("termination-waits-for-transport", GONE),
        ("stale-index-on-disconnect", EXITED),
        # requestTermination never reached an IDE: not the drone's handler
        ("no-termination-handler", (Fact("never-reached", event="requestTermination",
                                         actor="ide", role="ide", who="ide ide"),)),
    ],
)
def test_a_failure_about_something_else_does_not_count(switch: str,
                                                       facts: tuple[Fact, ...]) -> None:
    assert DIAGNOSES[switch].clue_in(facts) is None
