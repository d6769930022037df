"""The Hypothesis state machine of ``harness explore``: rules that drive the simulated
clients against a live relay, each checked against the contract's model.

Each rule reads the model (``harness.explore.model``) for what the relay may answer, writes
its action as steps of the scenario language (``harness.explore.expectations``,
``harness.explore.program``), and runs them: the acks and events the model allows, the
database the model expects, and (where the relay has introspection) its maps. Hypothesis
chooses the rules and their arguments, and shrinks a failing example; the failing example's
program is the scenario file the engineer gets.
"""

from __future__ import annotations

from harness.explore.clients import ClientRules
from harness.explore.requests import RequestRules


class ExploreMachine(ClientRules, RequestRules):
    """Every rule: clients that come and go, and the requests they make."""


__all__ = ["ExploreMachine"]
