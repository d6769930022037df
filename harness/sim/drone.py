"""``SimDrone``: a simulated gadget-drone that answers the relay per its ``DroneBehaviour``.

Relay requests are answered synchronously as they arrive (recorded "received" with the
chosen ``answer``, then "acked" once the ack is queued; ``ignore`` sends no ack packet at
all). An accepted ``submitPrompt`` streams the behaviour's script in a background task
after the ack; a failure there is recorded as a "note" and re-raised by ``wait_idle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from harness.errors import ConfigError, ExpectationFailed, ScenarioTimeout
from harness.protocol import ClientType, Event, is_object_id
from harness.sim._socket import Link, Reply, Transport
from harness.sim.client import SimClient
from harness.sim.errors import AckTimeout
from harness.sim.history import ActorKind, MessageHistory
from harness.sim.reconnect import Reconnection
from harness.sim.script import DroneBehaviour, StreamScript, stream_events

__all__ = ["SimDrone"]

_FLUSH_TIMEOUT = 5.0
_ANSWERS = {"accept": (True,), "refuse": (False,)}
_DEFAULT_BEHAVIOUR = DroneBehaviour()
_DEFAULT_RECONNECTION = Reconnection()


class SimDrone(SimClient):
    """A drone actor: connects with ``{"type": "drone", "registrationId", "token"}``.

    With ``recover``, after each automatic reconnection it emits ``requestCrashRecovery
    {}`` (contract section 5) and takes the lock the ack reports, as a drone that comes
    back asks what it still holds. ``reconnection``/``rng``: see ``SimClient``.
    """

    kind: ClassVar[ActorKind] = "drone"

    def __init__(
        self,
        name: str,
        relay_url: str,
        *,
        registration_id: str,
        token: str,
        history: MessageHistory,
        behaviour: DroneBehaviour = _DEFAULT_BEHAVIOUR,
        transport: Transport = "websocket",
        user_id: str | None = None,
        reconnection: Reconnection = _DEFAULT_RECONNECTION,
        rng: random.Random | None = None,
        recover: bool = False,
    ) -> None:
        super().__init__(
            name,
            relay_url,
            history=history,
            auth={"type": ClientType.DRONE, "registrationId": registration_id, "token": token},
            transport=transport,
            user_id=user_id,
            reconnection=reconnection,
            rng=rng,
        )
        if not isinstance(recover, bool):
            raise ConfigError(f"{name}: recover must be true or false, got {recover!r}")
        self.recover = recover
        self.registration_id = registration_id
        self.behaviour = behaviour
        self.locked_by: str | None = None  # the chat session this drone believes locks it
        self._work_orders: dict[str, str] = {}
        self._next_seq: dict[str, int] = {}
        self._streams: dict[asyncio.Task[None], Link] = {}
        self._errors: list[Exception] = []
        self._stale: list[Link] = []  # old sockets left open by restart()

    @property
    def behaviour(self) -> DroneBehaviour:
        """How this drone answers; assignable between steps."""
        return self._behaviour

    @behaviour.setter
    def behaviour(self, value: DroneBehaviour) -> None:
        if not isinstance(value, DroneBehaviour):
            raise ConfigError(
                f"{self.name}: behaviour must be a DroneBehaviour, got {type(value).__name__}"
            )
        self._behaviour = value

    @property
    def work_orders(self) -> Mapping[str, str]:
        """``workOrderId -> chatSessionId`` of every ``submitPrompt`` received."""
        return MappingProxyType(self._work_orders)

    # --- answering the relay ----------------------------------------------------------
    def _answer(
        self, link: Link, event: str, payload: Any, wants_ack: bool, meta: dict[str, Any]
    ) -> Reply:
        if link.silent:  # a restarted drone's old socket hears but never answers
            self._record("received", event, payload, link=link, **meta)
            return Reply(send=False)
        behaviour = self.behaviour
        body = payload if isinstance(payload, dict) else {}
        if event == Event.REQUEST_SESSION_LOCK:
            answer = behaviour.on_lock
            self._record("received", event, payload, link=link, answer=answer, **meta)
            if answer == "accept":
                self.locked_by = body.get("chatSessionId")
            return self._reply(answer)
        if event == Event.RELEASE_SESSION_LOCK:
            answer = behaviour.on_release
            self._record("received", event, payload, link=link, answer=answer, **meta)
            if answer == "accept":
                self.locked_by = None
            return self._reply(answer)
        if event == Event.SUBMIT_PROMPT:
            return self._answer_prompt(link, payload, body, behaviour, meta)
        if event == Event.REQUEST_TERMINATION:
            answer = behaviour.on_termination
            self._record("received", event, payload, link=link, answer=answer, **meta)
            if answer == "accept":
                return Reply((True,), then=lambda: link.spawn(self._exit(link), "exiting"))
            return self._reply(answer)
        self._record("received", event, payload, link=link, **meta)
        return Reply()

    @staticmethod
    def _reply(answer: str) -> Reply:
        if answer in _ANSWERS:
            return Reply(_ANSWERS[answer])
        return Reply(send=False)

    def _answer_prompt(
        self,
        link: Link,
        payload: Any,
        body: dict[str, Any],
        behaviour: DroneBehaviour,
        meta: dict[str, Any],
    ) -> Reply:
        answer = behaviour.on_prompt
        work_order_id = body.get("workOrderId")
        chat_session_id = body.get("chatSessionId")
        if not (is_object_id(work_order_id) and is_object_id(chat_session_id)):
            self._record(
                "received",
                Event.SUBMIT_PROMPT,
                payload,
                link=link,
                answer="refuse",
                malformed=True,
                **meta,
            )
            return Reply((False,))
        assert isinstance(work_order_id, str) and isinstance(chat_session_id, str)
        self._record("received", Event.SUBMIT_PROMPT, payload, link=link, answer=answer, **meta)
        self._work_orders[work_order_id] = chat_session_id
        if answer == "stream":
            script = behaviour.script
            return Reply(
                (True,),
                then=lambda: self._start_stream(link, work_order_id, chat_session_id, script),
            )
        return self._reply(answer)

    async def _exit(self, link: Link) -> None:
        """Accepted termination: stop streaming, let the ack out, disconnect ("exit"), with
        a goodbye or, ``exit_mode="silent"``, by dropping the connection."""
        self._cancel_streams(link, "drone exiting")
        await link.flush(_FLUSH_TIMEOUT)
        if self.behaviour.exit_mode == "silent":
            await link.crash(_FLUSH_TIMEOUT)
        else:
            await link.goodbye("exit", _FLUSH_TIMEOUT)

    # --- streaming ------------------------------------------------------------------------
    def _start_stream(
        self, link: Link, work_order_id: str, chat_session_id: str, script: StreamScript
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._guarded_stream(link, work_order_id, chat_session_id, script)
        )
        self._streams[task] = link
        task.add_done_callback(lambda t: self._streams.pop(t, None))

    async def _guarded_stream(
        self, link: Link, work_order_id: str, chat_session_id: str, script: StreamScript
    ) -> None:
        try:
            await self._stream_on(
                link, work_order_id, chat_session_id, script, start_seq=None, negative=False,
                optional=False,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._errors.append(exc)
            self._record(
                "note",
                "stream-error",
                f"work order {work_order_id}: {exc}",
                link=link,
                error=type(exc).__name__,
                workOrderId=work_order_id,
            )

    async def _stream_on(
        self,
        link: Link,
        work_order_id: str,
        chat_session_id: str,
        script: StreamScript,
        *,
        start_seq: int | None,
        negative: bool,
        optional: bool,
    ) -> None:
        first = self._next_seq.get(work_order_id, 0) if start_seq is None else start_seq
        events = stream_events(script, work_order_id, chat_session_id, start_seq=first)
        for index, (event, payload) in enumerate(events):
            if index and script.pacing:
                await asyncio.sleep(script.pacing)
            await self._emit_on(link, event, payload, ack=False, negative=negative,
                                optional=optional)
            self._next_seq[work_order_id] = payload["seq"] + 1
        await link.flush(_FLUSH_TIMEOUT)

    def _cancel_streams(self, link: Link, why: str) -> None:
        for task, owner in list(self._streams.items()):
            if owner is link and not task.done():
                task.cancel()
                self._record("note", "stream-cancelled", why, link=link)

    def _link_leaving(self, link: Link) -> None:
        # A stream still running would emit after the DISCONNECT: stop it first.
        self._cancel_streams(link, "the drone is disconnecting")

    def _link_gone(self, link: Link) -> None:
        self._cancel_streams(link, "socket disconnected")
        if link is self._link:
            self.locked_by = None

    async def stream(
        self,
        work_order_id: str,
        chat_session_id: str,
        script: StreamScript | None = None,
        *,
        negative: bool = False,
        optional: bool = False,
        start_seq: int | None = None,
    ) -> None:
        """Stream ``script`` (default: the behaviour's) for a work order, then complete it.

        ``seq`` continues from the last one this drone sent for the work order (0 for a new
        one) unless ``start_seq`` is given. ``negative`` marks the emits as deliberately
        forbidden (e.g. streaming for a chat session that does not lock this drone);
        ``optional`` as events the relay may drop or forward (contract 11.7).
        Returns once every event is written to the transport (flush waits at most 5 s).
        Raises ``ExpectationFailed`` when not connected.
        """
        link = self._require_link("stream")
        await self._stream_on(
            link,
            work_order_id,
            chat_session_id,
            script if script is not None else self.behaviour.script,
            start_seq=start_seq,
            negative=negative,
            optional=optional,
        )

    async def wait_idle(self, timeout: float) -> None:
        """Wait until every background stream has finished, then re-raise the first error
        one of them hit (once). Raises ``ScenarioTimeout`` after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while self._streams:
                    await asyncio.wait(list(self._streams))
        except TimeoutError:
            raise ScenarioTimeout(
                f"{self.name}: {len(self._streams)} stream(s) still running after {timeout:g}s"
            ) from None
        if self._errors:
            first, self._errors = self._errors[0], []
            raise first

    # --- restart ----------------------------------------------------------------------------
    async def restart(self, *, timeout: float = 5.0) -> Any:
        """The drone process restarts while its old socket is still half-open.

        The old socket goes silent (hears, never answers; its streams stop), a new
        connection with the same auth is opened, and the relay must disconnect the old one
        (recorded as reason "replaced"). Then, if ``behaviour.recover_after_restart``,
        emits ``requestCrashRecovery`` and returns its ack (else None). Each wait is
        bounded by ``timeout``. Raises what ``connect``/``emit`` raise, and
        ``ExpectationFailed`` when the relay keeps the old socket.
        """
        await self._halt("the drone restarted", drop_buffer=True)
        old, self._link = self._link, None
        self.locked_by = None
        if old is not None and old.connected:
            old.silent = True
            self._cancel_streams(old, "drone restarted")
            self._stale.append(old)
            self._record("note", "restart", link=old)
        elif old is not None:
            await old.release()
        link = self._new_link(timeout)
        await self._open(link, timeout)
        self._link = link
        if old is not None and old in self._stale:
            try:
                async with asyncio.timeout(timeout):
                    await old.gone.wait()
            except TimeoutError:
                self._record("note", "not-replaced", link=old)
                raise ExpectationFailed(
                    f"{self.name}: after the restart the relay kept the old socket "
                    f"{old.sid} open for {timeout:g}s (a new connection of the same "
                    f"registration must replace it)"
                ) from None
            self._stale.remove(old)
            await old.release()
        if not self.behaviour.recover_after_restart:
            return None
        return await self._recover(timeout)

    async def _recover(self, timeout: float) -> Any:
        """Emit ``requestCrashRecovery {}``, take the lock its ack reports, return the ack."""
        answer = await self.emit(Event.REQUEST_CRASH_RECOVERY, {}, timeout=timeout)
        if isinstance(answer, dict) and answer.get("ok"):
            chat_session_id = answer.get("chatSessionId")
            self.locked_by = chat_session_id if isinstance(chat_session_id, str) else None
        return answer

    async def _after_reconnect(self, link: Link) -> None:
        if self.recover:
            with contextlib.suppress(AckTimeout, ExpectationFailed):  # recorded already
                await self._recover(_FLUSH_TIMEOUT)

    async def close(self) -> None:
        """Stop every stream, release the current and any stale socket; idempotent."""
        tasks = list(self._streams)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        stale, self._stale = self._stale, []
        for link in stale:
            with contextlib.suppress(Exception):
                await link.release()
        await super().close()
