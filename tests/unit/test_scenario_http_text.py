"""How an HTTP step's headline names the status it expected."""

from __future__ import annotations

from harness.scenario.kinds.http import statuses as _statuses


def test_a_single_status_and_alternatives_read_as_words() -> None:
    assert _statuses(404) == "404"
    assert _statuses({"$one_of": [401, 400]}) == "401 or 400"
