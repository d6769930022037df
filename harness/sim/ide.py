"""``SimIDE``: a simulated IDE (a Gadget Code browser session) on the relay."""

from __future__ import annotations

import contextlib
import random
from typing import Any, ClassVar

from harness.errors import ConfigError, ExpectationFailed
from harness.protocol import ClientType, Event
from harness.sim._socket import Link, Transport
from harness.sim.client import SimClient
from harness.sim.errors import AckTimeout
from harness.sim.history import ActorKind, MessageHistory
from harness.sim.reconnect import Reconnection

__all__ = ["SimIDE"]

_DEFAULT_RECONNECTION = Reconnection()
_REOPEN_TIMEOUT = 5.0


class SimIDE(SimClient):
    """An IDE actor: connects with ``{"type": "code", "token": ...}``, emits the IDE
    requests via ``emit`` and records every event the relay sends it.

    With ``reopen``, after each automatic reconnection it emits ``openChatSession`` again
    for every chat session it opened with an ok ack (contract section 4: the new socket
    is indexed under no chat session until it does). ``reconnection``/``rng``: see
    ``SimClient``.
    """

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
        reconnection: Reconnection = _DEFAULT_RECONNECTION,
        rng: random.Random | None = None,
        reopen: bool = False,
    ) -> None:
        super().__init__(
            name,
            relay_url,
            history=history,
            auth={"type": ClientType.CODE, "token": token},
            transport=transport,
            user_id=user_id,
            reconnection=reconnection,
            rng=rng,
        )
        if not isinstance(reopen, bool):
            raise ConfigError(f"{name}: reopen must be true or false, got {reopen!r}")
        self.reopen = reopen
        self._opened: dict[str, Any] = {}  # chatSessionId -> the payload that opened it

    @property
    def opened_chat_sessions(self) -> tuple[str, ...]:
        """The chat sessions this IDE opened with an ok ack, oldest first."""
        return tuple(self._opened)

    async def emit(self, event: str, payload: Any, **options: Any) -> Any:
        """``SimClient.emit``; also remembers each chat session opened with an ok ack."""
        answer = await super().emit(event, payload, **options)
        if (
            event == Event.OPEN_CHAT_SESSION
            and isinstance(answer, dict) and answer.get("ok") is True
            and isinstance(payload, dict) and isinstance(payload.get("chatSessionId"), str)
        ):
            self._opened[payload["chatSessionId"]] = payload
        return answer

    async def _after_reconnect(self, link: Link) -> None:
        if not self.reopen:
            return
        for payload in list(self._opened.values()):
            if not link.connected:
                return
            with contextlib.suppress(AckTimeout, ExpectationFailed):  # recorded already
                await self.emit(Event.OPEN_CHAT_SESSION, payload, timeout=_REOPEN_TIMEOUT)
