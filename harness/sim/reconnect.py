"""When and how soon a simulated client reconnects: socket.io-client 4.8's rules, as data.

``Reconnection`` holds socket.io-client's ``Manager`` options under shorter names, in
seconds (``manager.js``, constructor):

    socket.io-client        here            default
    reconnection            enabled         True
    reconnectionAttempts    attempts        None  (Infinity)
    reconnectionDelay       delay           1.0   (1000 ms)
    reconnectionDelayMax    delay_max       5.0   (5000 ms)
    randomizationFactor     randomization   0.5
    timeout                 timeout         20.0  (20000 ms: one connection attempt)

``Backoff`` is the delay sequence of ``build/cjs/contrib/backo2.js`` (the ``backo2``
package, vendored into socket.io-client): attempt ``n`` (from 0) waits
``delay * 2**n`` ms, moved by a random deviation of up to ``randomization`` of itself,
down or up on the parity of one random digit, then capped at ``delay_max`` and truncated
to whole milliseconds. No I/O here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final

from harness.errors import ConfigError

__all__ = ["CAUSES", "RECONNECTING_CAUSES", "SERVER_DISCONNECT", "Backoff", "Reconnection"]

# The ``disconnect`` reasons of socket.io-client (``socket.js`` ``onclose`` callers and
# engine.io-client ``socket.js`` ``_onClose``) the simulated clients record as ``cause``.
SERVER_DISCONNECT: Final = "io server disconnect"
"""The server's Socket.IO DISCONNECT packet for the namespace: never reconnected after."""
CAUSES: Final = (
    SERVER_DISCONNECT,  # the server's Socket.IO DISCONNECT packet for the namespace
    "io client disconnect",  # socket.disconnect() on this side
    "transport close",  # the connection was closed (also an Engine.IO CLOSE from the server)
    "transport error",  # the connection failed (e.g. a long-poll request errored)
    "ping timeout",  # no PING from the server within pingInterval + pingTimeout
)
# The causes after which socket.io-client's Manager reconnects (``manager.js`` ``onclose``:
# everything but a socket that was destroyed, i.e. ``io server disconnect``/``io client
# disconnect``).
RECONNECTING_CAUSES: Final = frozenset({"transport close", "transport error", "ping timeout"})

_FACTOR: Final = 2.0


def _power(attempts: int) -> float:
    """``Math.pow(2, attempts)``: Infinity past the largest double, as in JavaScript."""
    try:
        return _FACTOR**attempts
    except OverflowError:
        return math.inf


def _js_floor(value: float) -> float:
    """``Math.floor``: infinities and NaN pass through (Python's floor raises on them)."""
    return float(math.floor(value)) if math.isfinite(value) else value


def _to_int32(value: float) -> int:
    """JavaScript's ``value | 0`` (ToInt32): truncate, wrap to 32 bits; NaN and the
    infinities are 0. (After ~1000 attempts backo2's arithmetic overflows to these.)"""
    if not math.isfinite(value):
        return 0
    wrapped = int(value) % 2**32
    return wrapped - 2**32 if wrapped >= 2**31 else wrapped


@dataclass(frozen=True)
class Reconnection:
    """socket.io-client's reconnection options, in seconds (defaults are its defaults).

    ``attempts=None`` is Infinity. Raises ``ConfigError`` naming the field on a bad value.
    """

    enabled: bool = True
    attempts: int | None = None
    delay: float = 1.0
    delay_max: float = 5.0
    randomization: float = 0.5
    timeout: float = 20.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"reconnection.enabled must be true or false, got {self.enabled!r}")
        if self.attempts is not None and (
            isinstance(self.attempts, bool) or not isinstance(self.attempts, int)
            or self.attempts < 0
        ):
            raise ConfigError(
                f"reconnection.attempts must be a whole number >= 0 or None (no limit), "
                f"got {self.attempts!r}"
            )
        for field_name in ("delay", "delay_max", "timeout"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value > 0
            ):
                raise ConfigError(
                    f"reconnection.{field_name} must be a number of seconds > 0, got {value!r}"
                )
        if self.delay_max < self.delay:
            raise ConfigError(
                f"reconnection.delay_max ({self.delay_max:g}) must not be below "
                f"reconnection.delay ({self.delay:g})"
            )
        value = self.randomization
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(
                f"reconnection.randomization must be a number from 0 to 1, got {value!r}"
            )

    def backoff(self, rng: random.Random | None = None) -> Backoff:
        """A fresh ``Backoff`` for these options (``rng`` makes the jitter repeatable)."""
        return Backoff(self, rng)


class Backoff:
    """The reconnection delays of socket.io-client (``contrib/backo2.js``), in seconds.

    ``duration()`` returns the next delay and counts an attempt; ``reset()`` starts over
    (after a successful reconnect, and when the attempts are exhausted, as ``manager.js``
    does). ``rng`` stands in for ``Math.random`` (pass a seeded one to repeat a run).
    """

    def __init__(self, options: Reconnection, rng: random.Random | None = None) -> None:
        # backo2 works in milliseconds and truncates its result (``| 0``): so does this.
        self._min_ms = options.delay * 1000
        self._max_ms = options.delay_max * 1000
        # backo2 ignores a jitter outside (0, 1] (``opts.jitter > 0 && opts.jitter <= 1``).
        self._jitter = options.randomization if 0 < options.randomization <= 1 else 0.0
        self._rng = rng if rng is not None else random.Random()
        self.attempts = 0

    def duration(self) -> float:
        """The delay before the next attempt, in seconds; counts the attempt."""
        ms = self._min_ms * _power(self.attempts)
        self.attempts += 1
        if self._jitter:
            rand = self._rng.random()
            deviation = _js_floor(rand * self._jitter * ms)
            ms = ms - deviation if (math.floor(rand * 10) & 1) == 0 else ms + deviation
        # Math.min(NaN, max) is NaN, where Python's min would pick either.
        return _to_int32(ms if math.isnan(ms) else min(ms, self._max_ms)) / 1000

    def reset(self) -> None:
        """Start counting attempts from zero again."""
        self.attempts = 0
