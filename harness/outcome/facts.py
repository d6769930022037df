"""What a failure establishes, as data. A failure's one line is rendered from its facts
(``harness.outcome.wording``); the selftest's diagnoses and the sequence diagram read the
facts, never the text, so a message can be reworded without changing what they find.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

FactKind = Literal[
    "never-reached",     # ``event`` never reached actor ``actor`` (shown as ``who``)
    "connected-anyway",  # the relay answered offline ``error`` for a drone connected as ``sid``
    "not-connected",     # the relay answered ``error`` (or ok) for a drone with no connection
    "relay-answered",    # what the relay answered about the drone instead (``answer``)
    "exited-unnoticed",  # the drone took ``event`` (requestTermination) and went, but the
                         # relay answered ``error`` as if it had not left
    "map-holds",         # the relay's session map ``map`` still holds ``key``
    "map-lacks",         # the relay's session map ``map`` lacks ``key``
    "ack-answer",        # the ack of ``event`` was ``got`` (of kind ``have``: ok, refused),
                         # not ``expected`` (of kind ``want``)
    "stranded",          # actor ``actor`` is not connected: the relay ended its last
                         # connection with ``cause`` (io server disconnect), after which
                         # socket.io-client never reconnects
    "kept-silent",       # the drone stopped answering (``cause``: the fault that silenced
                         # it), yet the relay still counts it ``status`` ``window`` later,
                         # past its heartbeat
]
FACT_KINDS: tuple[str, ...] = get_args(FactKind)


@dataclass(frozen=True)
class Fact:
    """One thing a failure found out: its ``kind`` and the fields that kind uses.

    ``actor`` is an actor's name in the scenario and ``who`` how failures show it
    (``drone d0 (<registration id>)``); ``registration`` a drone registration id;
    ``error`` a protocol error code the relay answered.
    """

    kind: FactKind
    event: str | None = None
    actor: str | None = None
    role: str | None = None  # the actor's: ide, drone, http
    who: str | None = None
    registration: str | None = None
    error: str | None = None
    sid: str | None = None
    map: str | None = None
    key: str | None = None
    expected: str | None = None  # as shown: "ok", "refused 'drone-locked'"
    got: str | None = None
    want: str | None = None  # the kinds of answer, ok or refused, for ack-answer
    have: str | None = None
    answer: str | None = None
    cause: str | None = None  # why a connection ended or went quiet
    status: str | None = None  # a registration's status as the database holds it
    window: str | None = None  # a duration as shown: "12 s"

    def to_json(self) -> dict[str, Any]:
        """The fields that are set (for the trace file)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fact | None:
        """A fact read back from a trace; None for one this version does not know."""
        if data.get("kind") not in FACT_KINDS:
            return None
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
