"""The reconnection policy: socket.io-client's options and its backo2 delays, exactly."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.sim.reconnect import Backoff, Reconnection

# Math.random() scripted to these values, socket.io-client 4.8.4's own backo2.js gave
# (node -e, tests/clients/js/node_modules/socket.io-client/build/cjs/contrib/backo2.js):
SCRIPT = (0.1, 0.25, 0.95, 0.5, 0.05, 0.77, 0.33, 0.0, 0.999, 0.61)
JS_DEFAULTS_MS = (1050, 1750, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000)
JS_SHORT_MS = (147, 250, 390, 500, 500)  # min 100, max 500
JS_OVERFLOW_MS = (0, 5000, 0, 5000, 0, 5000)  # from attempt 1030: 2**n overflows to Infinity


class Scripted(random.Random):
    """A ``Random`` whose ``random()`` replays ``values`` in a loop."""

    def __init__(self, values: Sequence[float]) -> None:
        super().__init__(0)
        self._values = values
        self._next = 0

    def random(self) -> float:
        value = self._values[self._next % len(self._values)]
        self._next += 1
        return value


def _ms(backoff: Backoff, n: int) -> tuple[int, ...]:
    return tuple(round(backoff.duration() * 1000) for _ in range(n))


def test_defaults_are_socket_io_clients() -> None:
    assert Reconnection() == Reconnection(
        enabled=True, attempts=None, delay=1.0, delay_max=5.0, randomization=0.5
    )


def test_delays_match_socket_io_clients_backo2() -> None:
    rng = Scripted(SCRIPT)
    assert _ms(Reconnection().backoff(rng), 12) == JS_DEFAULTS_MS
    assert _ms(Reconnection(delay=0.1, delay_max=0.5).backoff(rng), 5) == JS_SHORT_MS
    far = Reconnection().backoff(rng)
    far.attempts = 1030
    assert _ms(far, 6) == JS_OVERFLOW_MS


def test_reset_starts_the_sequence_again() -> None:
    backoff = Reconnection(randomization=0).backoff()
    assert _ms(backoff, 3) == (1000, 2000, 4000)
    assert backoff.attempts == 3
    backoff.reset()
    assert backoff.attempts == 0
    assert _ms(backoff, 1) == (1000,)


def test_a_seeded_rng_repeats_the_run() -> None:
    assert _ms(Reconnection().backoff(random.Random(7)), 8) == _ms(
        Reconnection().backoff(random.Random(7)), 8
    )


@given(
    delay=st.floats(0.001, 10),
    spread=st.floats(1, 100),
    randomization=st.floats(0, 1),
    seed=st.integers(0, 2**32),
    attempts=st.integers(0, 40),
)
def test_every_delay_is_within_jitter_of_the_doubling_and_capped(
    delay: float, spread: float, randomization: float, seed: int, attempts: int
) -> None:
    options = Reconnection(delay=delay, delay_max=delay * spread, randomization=randomization)
    backoff = options.backoff(random.Random(seed))
    backoff.attempts = attempts
    got_ms = backoff.duration() * 1000
    base = delay * 1000 * 2.0**attempts
    low = min(math.floor(base * (1 - randomization)), options.delay_max * 1000)
    high = min(base * (1 + randomization), options.delay_max * 1000)
    assert math.floor(low) - 1 <= got_ms <= high
    assert got_ms <= options.delay_max * 1000
    assert backoff.attempts == attempts + 1


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"enabled": "yes"}, "reconnection.enabled"),
        ({"attempts": -1}, "reconnection.attempts"),
        ({"attempts": 1.5}, "reconnection.attempts"),
        ({"delay": 0}, "reconnection.delay"),
        ({"delay": math.inf}, "reconnection.delay"),
        ({"delay_max": "5"}, "reconnection.delay_max"),
        ({"delay": 2.0, "delay_max": 1.0}, "reconnection.delay_max"),
        ({"randomization": 1.5}, "reconnection.randomization"),
        ({"randomization": -0.1}, "reconnection.randomization"),
    ],
)
def test_a_bad_option_is_a_one_line_error_naming_the_field(
    options: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Reconnection(**options)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(field)
    assert "\n" not in message
