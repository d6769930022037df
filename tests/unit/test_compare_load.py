"""``harness compare --load``: the profile's syntax and what counts as a regression under
load (hand-made figures; no relay)."""

from __future__ import annotations

import pytest

from harness.compare.load import LoadSide, compare_loads, parse_load
from harness.errors import ConfigError


def test_a_profile_is_harness_load_s_options() -> None:
    config = parse_load("drones=4,rate=2.5,duration=3,transport=polling,random-seed=7")
    assert (config.drones, config.rate, config.duration, config.transport,
            config.random_seed) == (4, 2.5, 3.0, "polling", 7)
    with pytest.raises(ConfigError, match="'speed=3' is not KEY=VALUE"):
        parse_load("speed=3")
    with pytest.raises(ConfigError, match="drones='many' is not an integer"):
        parse_load("drones=many")
    with pytest.raises(ConfigError, match="--drones must be an integer >= 1"):
        parse_load("drones=0")


def _side(rates: tuple[float, ...] = (100.0, 100.0), p99: tuple[float, ...] = (0.1, 0.1),
          violations: dict[str, tuple[int, ...]] | None = None,
          errors: dict[str, tuple[int, ...]] | None = None) -> LoadSide:
    return LoadSide(rates, {"thinking": p99}, {"thinking": 0.01}, violations or {},
                    errors or {})


def test_what_regresses_under_load() -> None:
    same = compare_loads("p", _side(), _side(), 0.2, 0.005)
    assert same.differences == []
    worse = compare_loads("p", _side(), _side(
        p99=(0.2, 0.21), violations={"delivery/missing": (3, 1)},
        errors={"submitPrompt:ack-timeout": (40, 30)}), 0.2, 0.005)
    words = [d.summary for d in worse.differences]
    assert words[0].startswith("violations delivery/missing: 3/1 a run (baseline none)")
    assert words[1].startswith("errors submitPrompt:ack-timeout: 40/30 a run")
    assert words[2].startswith("thinking p99 under load 100.0 → 210.0 ms")
    # Within the noise of the baseline's own runs, or a violation in one run only: no.
    noisy = compare_loads("p", _side(p99=(0.1, 0.3)), _side(
        p99=(0.25, 0.26), violations={"delivery/missing": (0, 2)}), 0.2, 0.005)
    assert noisy.differences == []
