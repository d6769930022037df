"""``expect``'s in-order scan: resumed over a growing history it finds exactly what a full
rescan finds, and it looks at each message once (a long stream stays linear)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harness.scenario import matchers
from harness.scenario.kinds.expect import OrderedScan as _OrderedScan
from harness.scenario.kinds.expect import attempt as _attempt
from harness.sim.history import Direction, Message, MessageHistory

EVENTS = ("thinking", "response", "toolCall")


def _history(rng: random.Random, size: int) -> tuple[Message, ...]:
    history = MessageHistory(clock=lambda: 0.0)
    for seq in range(size):
        actor = rng.choice(("ide", "ide", "other"))
        direction: Direction = rng.choice(("received", "received", "sent"))
        history.record(actor, "ide", direction, rng.choice(EVENTS), {"seq": seq % 7})
    return history.messages


def _wanted(rng: random.Random) -> list[tuple[str, Any]]:
    return [(rng.choice(EVENTS), rng.choice((None, {"seq": rng.randrange(7)})))
            for _ in range(rng.randrange(1, 5))]


def _summary(attempt: Any) -> tuple[bool, list[int]]:
    return attempt.done, [m.seq for m, _ in attempt.matched]


@pytest.mark.parametrize("seed", range(40))
def test_fed_piece_by_piece_it_agrees_with_a_full_rescan(seed: int) -> None:
    rng = random.Random(seed)
    messages = _history(rng, 60)
    events = _wanted(rng)
    start = rng.randrange(10)
    scan = _OrderedScan("ide", start, events)
    end = start
    while end < len(messages):
        end = min(len(messages), end + rng.randrange(1, 6))
        fed = scan.feed(messages[:end])
        full = _attempt(messages[:end], "ide", start, events, in_order=True)
        assert _summary(fed) == _summary(full)
        if fed.done:
            break


def test_each_message_is_matched_at_most_once(monkeypatch: pytest.MonkeyPatch) -> None:
    history = MessageHistory(clock=lambda: 0.0)
    calls = 0
    real = matchers.match

    def counting(expected: Any, actual: Any) -> Any:
        nonlocal calls
        calls += 1
        return real(expected, actual)

    monkeypatch.setattr("harness.scenario.kinds.expect.match", counting)
    scan = _OrderedScan("ide", 0, [("thinking", {"seq": 999})])
    for seq in range(1000):
        history.record("ide", "ide", "received", "thinking", {"seq": seq})
        attempt = scan.feed(history.messages)
    assert attempt.done
    assert [m.seq for m, _ in attempt.matched] == [999]
    assert calls == 1000


def test_no_expected_events_is_done_at_once() -> None:
    assert _OrderedScan("ide", 0, []).feed(()).done
