"""``SimIDE``: a simulated IDE (a Gadget Code browser session) on the relay."""

from __future__ import annotations

from typing import ClassVar

from harness.protocol import ClientType
from harness.sim._socket import Transport
from harness.sim.client import SimClient
from harness.sim.history import ActorKind, MessageHistory

__all__ = ["SimIDE"]


class SimIDE(SimClient):
    """An IDE actor: connects with ``{"type": "code", "token": ...}``, emits the IDE
    requests via ``emit`` and records every event the relay sends it."""

    kind: ClassVar[ActorKind] = "ide"

    def __init__(
        self,
        name: str,
        relay_url: str,
        *,
        token: str,
        history: MessageHistory,
        transport: Transport = "websocket",
        user_id: str | None = None,
    ) -> None:
        super().__init__(
            name,
            relay_url,
            history=history,
            auth={"type": ClientType.CODE, "token": token},
            transport=transport,
            user_id=user_id,
        )
