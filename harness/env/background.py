"""An environment that lives on its own event loop in a daemon thread.

pytest runs synchronous items and async tests on loops it owns; an environment's
processes and the scenario runs are bound to the loop that started them. Keeping them on
one private loop lets any caller (sync or on another loop) use the same environment.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from harness.env.base import Environment
from harness.errors import EnvError
from harness.settings import RelayTimeouts

T = TypeVar("T")

STOP_TIMEOUT = 60.0


class BackgroundEnvironment:
    """Wraps an ``Environment`` built by ``factory``; speaks the same Protocol.

    ``open()``/``close()`` start and stop it from synchronous code; ``call(coro)`` runs a
    coroutine on its loop and returns the result. The async methods work from any loop.
    """

    def __init__(self, factory: Callable[[], Environment]) -> None:
        self._factory = factory
        self._env: Environment | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    # --- life cycle (synchronous) -------------------------------------------------------
    @property
    def started(self) -> bool:
        """True once ``open`` succeeded (and until ``close``)."""
        return self._env is not None

    def open(self) -> None:
        """Start the loop thread and the environment; raises what ``start`` raised.

        A failed start is remembered: later calls raise the same error at once.
        """
        if self._failed is not None:
            raise EnvError(f"the environment failed to start earlier: {self._failed}")
        if self._env is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="harness-env", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        env = self._factory()
        try:
            self.call(env.start())
        except BaseException as exc:
            self._failed = exc
            self._shutdown_loop()
            raise
        self._env = env

    def close(self) -> None:
        """Stop the environment and the loop thread; idempotent."""
        env, self._env = self._env, None
        try:
            if env is not None:
                self.call(env.stop(), timeout=STOP_TIMEOUT)
        finally:
            self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        loop.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the environment's loop from synchronous code and return its result.

        On KeyboardInterrupt the coroutine is cancelled (so it can clean up) and awaited.
        """
        if self._loop is None:
            coro.close()
            raise EnvError("the background environment is not open")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except KeyboardInterrupt:
            future.cancel()
            concurrent.futures.wait([future], timeout=STOP_TIMEOUT)
            raise

    def _require(self) -> Environment:
        if self._env is None:
            raise EnvError("the background environment is not open")
        return self._env

    async def _bridge(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise EnvError("the background environment is not open")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    # --- the Environment Protocol -------------------------------------------------------
    @property
    def relay_url(self) -> str:
        """The wrapped environment's relay URL."""
        return self._require().relay_url

    @property
    def mongo_uri(self) -> str:
        """The wrapped environment's MongoDB URI."""
        return self._require().mongo_uri

    @property
    def database(self) -> str:
        """The wrapped environment's database name."""
        return self._require().database

    @property
    def admin_token(self) -> str | None:
        """The wrapped environment's admin token."""
        return self._require().admin_token

    @property
    def supports_restart(self) -> bool:
        """Whether the wrapped environment can restart its relay."""
        return self._require().supports_restart

    @property
    def reference_relay(self) -> bool:
        """Whether the wrapped environment runs the reference relay with its own choices."""
        return self._require().reference_relay

    @property
    def relay_timeouts(self) -> RelayTimeouts:
        """The wrapped environment's relay timeouts."""
        return self._require().relay_timeouts

    def describe(self) -> str:
        """The wrapped environment's description."""
        return self._require().describe()

    def logs(self) -> dict[str, str]:
        """The wrapped environment's logs."""
        return self._require().logs()

    async def start(self) -> None:
        """Nothing: ``open`` starts the environment."""

    async def stop(self) -> None:
        """Nothing: ``close`` stops the environment."""

    async def restart_relay(self) -> None:
        """Restart the relay on the environment's own loop."""
        await self._bridge(self._require().restart_relay())
