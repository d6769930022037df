"""The words of failure messages, rendered from facts (``harness.outcome.facts``).

Every sentence that states a fact is here, once. Reword freely: reports and the selftest
read the facts, not these sentences (``tests/unit/test_failure_wording.py`` rewords them
all and checks that nothing else changes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from harness.outcome.facts import Fact, FactKind

SENTENCES: dict[FactKind, str] = {
    "never-reached": "{event} never reached {who}",
    "connected-anyway": "{who} is connected as {sid}",
    "not-connected": "{who} is not connected",
    "relay-answered": "the relay answered {answer} instead",
    "exited-unnoticed": "{who} took {event} and exited, but the relay did not notice it go",
    "map-holds": "the relay's {map} map still holds {key}",
    "map-lacks": "the relay's {map} map lacks {key}",
    "ack-answer": "the ack of {event} from {who}: expected {expected}, got {got}",
    "stranded": "the relay ended the last connection of {who} with '{cause}', after which "
                "socket.io-client never reconnects",
    "kept-silent": "{who} went silent ({cause}), yet the relay still counts it {status} "
                   "{window} later, past its heartbeat",
}
"""One sentence per fact kind; ``{field}`` is the fact's field."""

JOINS: dict[FactKind, str] = {
    "never-reached": "; ", "connected-anyway": ", but ", "not-connected": ", though ",
    "relay-answered": "; ", "exited-unnoticed": "; ", "map-holds": "; ", "map-lacks": "; ",
    "ack-answer": "; ", "stranded": "; ", "kept-silent": "; ",
}
"""How a fact is attached after a headline, as a note."""


def sentence(fact: Fact) -> str:
    """The fact as a sentence."""
    return SENTENCES[fact.kind].format(**dataclasses.asdict(fact))


def note(fact: Fact) -> str:
    """The fact as a note that follows a headline: ``", but drone d0 (...) is connected as
    X"``."""
    return JOINS[fact.kind] + sentence(fact)


def notes(facts: Iterable[Fact | None]) -> str:
    """Every fact given (None skipped), as notes in order."""
    return "".join(note(fact) for fact in facts if fact is not None)
