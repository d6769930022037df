"""``harness compare``'s pure parts: normalising payloads, structural and sequence diffs,
the section 11 judgements, noise, latency and the side syntax. Hand-made histories and
items; no relay."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.commands.compare import parse_fraction
from harness.compare.build import ScenarioRuns, compare_scenario, latency_rows
from harness.compare.diff import fields, sequence
from harness.compare.judge import judge
from harness.compare.normalize import Normaliser
from harness.compare.observe import Item, Observation, observe
from harness.compare.sides import parse_side
from harness.errors import ConfigError
from harness.sim.history import MessageHistory
from seed.runid import run_tag

DRONE = "6b0dba1c1cbd6daa56c9ed05"
WORK = "6b0dba1c1cbd6daa56c9ed99"


def test_normaliser_takes_out_what_is_per_run() -> None:
    run = "run-20261130-175800-abcdef"
    norm = Normaliser(run, names={DRONE: "<drone d0>"})
    value = norm.value({"registrationId": DRONE, "other": "0123456789abcdef01234567",
                        "at": "2026-11-30T17:58:00.123+00:00", "z": "2026-11-30T17:58:00Z",
                        "createdAt": 1_764_525_480_000, "token": "s3cret",
                        "host": f"web-07-{run_tag(run)}-0",
                        "error": "Cannot connect to host 127.0.0.1:45425", "seq": 3})
    assert value == {"registrationId": "<drone d0>", "other": "<id>",
                     "at": "<time +00:00>", "z": "<time Z>", "createdAt": "<time>",
                     "token": "<secret>", "host": "web-07-<run>-0",
                     "error": "Cannot connect to host 127.0.0.1:<port>", "seq": 3}


def test_a_work_order_no_relay_created_is_named_as_such() -> None:
    history = MessageHistory()
    history.record("d0", "drone", "received", "submitPrompt", {"workOrderId": WORK})
    history.record("d0", "drone", "sent", "thinking", {"workOrderId": WORK, "seq": 0})
    history.record("d0", "drone", "sent", "thinking",
                   {"workOrderId": "ffffffffffffffffffffffff", "seq": 0})
    norm = Normaliser.for_history(history.messages, None)
    assert norm.text(WORK) == "<id>"
    assert norm.text("ffffffffffffffffffffffff") == "<unknown work order>"


def test_fields_names_every_added_removed_and_changed_path() -> None:
    changes = fields({"ok": True, "a": 1, "b": {"c": "x"}, "gone": 1},
                     {"ok": False, "a": "1", "b": {"c": "y"}, "new": 2})
    assert [(c.path, c.kind) for c in changes] == [
        ("ok", "value"), ("a", "type"), ("b.c", "value"), ("gone", "removed"),
        ("new", "added")]


def _item(event: str, payload: object = None, answer: object = None, channel: str = "receive",
          seq: int = 0, group: str | None = None) -> Item:
    return Item("ide", channel, event, payload, answer, seq=seq, group=group)  # type: ignore[arg-type]


def _stream(n: int, group: str = "d0#1", extra: dict[str, object] | None = None) -> list[Item]:
    return [_item("thinking", {"seq": i, "text": f"t{i}", **(extra or {})}, seq=i, group=group)
            for i in range(n)]


def test_sequence_finds_appeared_disappeared_duplicated_and_one_change_for_many() -> None:
    base = _stream(3)
    assert sequence(base, list(base)) == []
    kinds = [d.kind for d in sequence(base, base[:2])]
    assert kinds == ["disappeared"]
    assert [d.kind for d in sequence(base, [*base, replace(base[1])])] == ["duplicated"]
    assert [d.kind for d in sequence(base[:2], base)] == ["appeared"]
    changed = sequence(base, _stream(3, extra={"relayedAt": "<time Z>"}))
    assert [(d.kind, len(d.baseline)) for d in changed] == [("changed", 3)]
    assert [(c.path, c.kind) for c in changed[0].changes] == [("payload.relayedAt", "added")]


def test_order_within_a_work_order_is_a_regression_across_them_allowed() -> None:
    one, two = _stream(2, group="d0#1"), [_item("response", {"seq": 0, "text": "u"}, group="d1#1")]
    across = sequence([*one, *two], [two[0], *one])
    assert [d.kind for d in across] == ["reordered"]
    assert judge(across[0], "receive").verdict == "allowed"
    within = sequence(one, [one[1], one[0]])
    verdict = judge(within[0], "receive")
    assert (verdict.verdict, verdict.kind) == ("regression", "reordered")
    assert "one work order" in verdict.summary


@pytest.mark.parametrize(("before", "after", "verdict", "rule"), [
    ({"ok": True}, {"ok": False, "error": "drone-offline", "message": "m"}, "regression", ""),
    ({"ok": False, "error": "forbidden", "message": "m"}, "<no ack>", "allowed", "11.6"),
    ({"ok": False, "error": "invalid-payload", "message": "m"},
     {"ok": False, "error": "invalid-id", "message": "m"}, "allowed", "11.1"),
    ({"ok": False, "error": "forbidden", "message": "m"},
     {"ok": False, "error": "not-found", "message": "m"}, "regression", ""),
    ({"ok": True}, {"ok": True, "relay": "x"}, "allowed", "11.2"),
    ({"ok": False, "error": "x", "message": "a"}, {"ok": False, "error": "x", "message": "b"},
     "allowed", "11.9"),
])
def test_answers_are_judged_by_section_11(before: object, after: object, verdict: str,
                                          rule: str) -> None:
    diffs = sequence([_item("openChatSession", {"chatSessionId": "<id>"}, before, "emit")],
                     [_item("openChatSession", {"chatSessionId": "<id>"}, after, "emit")])
    judged = judge(diffs[0], "emit")
    assert judged.verdict == verdict, judged
    assert judged.rule.startswith(rule)


def test_a_refusal_keeps_its_code_and_may_change_its_text() -> None:
    before = Item("x", "link", "connect_error", "auth-denied")
    same = Item("x", "link", "connect_error", "connection refused (auth-denied): bad token")
    other = Item("x", "link", "connect_error", "auth-unknown")
    assert judge(sequence([before], [same])[0], "link").verdict == "allowed"
    assert judge(sequence([before], [other])[0], "link").verdict == "regression"


def _obs(status: str, events: list[Item], latency: list[float] | None = None) -> Observation:
    obs = Observation("s", status)
    obs.items = {("ide", "receive"): events}
    obs.latencies = {"thinking": latency or []}
    return obs


def test_noise_between_runs_of_one_side_is_never_counted() -> None:
    stream = _stream(3)
    steady = ScenarioRuns("s", "f", (_obs("passed", stream), _obs("passed", stream)))
    flaky = ScenarioRuns("s", "f", (_obs("passed", stream), _obs("passed", stream[:2])))
    lost = ScenarioRuns("s", "f", (_obs("passed", stream[:2]), _obs("passed", stream[:2])))
    noisy = compare_scenario(flaky, lost)
    assert noisy.differences == [] and noisy.unstable
    counted = compare_scenario(steady, lost)
    assert [d.kind for d in counted.differences] == ["disappeared"]
    assert counted.differences[0].seen == "4 of 4 run pairs"
    failing = ScenarioRuns("s", "f", (_obs("failed", stream),))
    verdict = compare_scenario(ScenarioRuns("s", "f", (_obs("passed", stream),)), failing)
    assert [(d.kind, d.verdict) for d in verdict.differences] == [("verdict", "regression")]


def test_latency_counts_past_the_threshold_the_noise_and_the_floor() -> None:
    def side(*runs: list[float]) -> list[list[Observation]]:
        return [[_obs("passed", [], run)] for run in runs]

    base = side([0.100] * 150, [0.105] * 150)
    rows = latency_rows(base, side([0.200] * 150, [0.210] * 150), 0.2, 0.005)
    assert rows[0].verdict == "regression" and rows[0].noise == pytest.approx(0.05)
    assert latency_rows(base, side([0.110] * 150, [0.112] * 150), 0.2, 0.005)[0].verdict == "ok"
    noisy = side([0.100] * 150, [0.300] * 150)
    assert latency_rows(noisy, side([0.250] * 150, [0.260] * 150), 0.2, 0.005)[0].verdict == "ok"
    # One candidate run as fast as the baseline: the ranges overlap.
    assert latency_rows(base, side([0.100] * 150, [0.300] * 150), 0.2, 0.005)[0].verdict == "ok"
    assert latency_rows(side([0.001] * 150), side([0.003] * 150), 0.2, 0.005)[0].verdict == "ok"
    few = latency_rows(side([0.1] * 20, [0.1] * 20), side([0.5] * 20, [0.5] * 20), 0.2, 0.005)
    assert few[0].verdict == "too few"


def test_observe_keeps_acks_with_their_emits_and_leaves_own_closes_out() -> None:
    history = MessageHistory()
    history.record("harness", "harness", "note", "step", "step 1 (emit)", line=4)
    sent = history.record("ide", "ide", "sent", "openChatSession", {"chatSessionId": WORK})
    history.record("ide", "ide", "ack", "openChatSession", ack={"ok": True},
                   sent_seq=sent.seq)
    history.record("ide", "ide", "disconnect", "disconnect", reason="client")
    obs = observe("s", "passed", None, history.messages, None)
    [emit] = obs.items[("ide", "emit")]
    assert (emit.payload, emit.answer, emit.step, emit.line, emit.at) == (
        {"chatSessionId": "<id>"}, {"ok": True}, "step 1 (emit)", 4, (1,))
    assert ("ide", "link") not in obs.items


def test_sides_parse_and_mask_their_secrets() -> None:
    side = parse_side("external:url=http://r:3000,mongo=mongodb://u:pw@a:1,b:2/?rs=x,token=t",
                      "--candidate")
    assert (side.url, side.mongo, side.token) == ("http://r:3000", "mongodb://u:pw@a:1,b:2/?rs=x",
                                                  "t")
    assert "pw" not in side.label and "token=***" in side.label
    both = parse_side("local:regress=lookup-by-socket-id+lock-retry-ok,variant=z-timestamps",
                      "--baseline")
    assert both.regressions == ("lookup-by-socket-id", "lock-retry-ok")
    with pytest.raises(ConfigError, match="unknown variant 'nope'"):
        parse_side("local:variant=nope", "--baseline")
    with pytest.raises(ConfigError, match="unknown kind 'staging'"):
        parse_side("staging", "--baseline")
    with pytest.raises(ConfigError, match="switch the reference relay"):
        parse_side("compose:image=x/y:1,regress=lock-retry-ok", "--baseline")


def test_percentages() -> None:
    assert parse_fraction("20%", "--x") == pytest.approx(0.2)
    assert parse_fraction("0.5", "--x") == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="--x 'a lot'"):
        parse_fraction("a lot", "--x")


def test_a_race_that_went_the_other_way_is_noise() -> None:
    ok, locked = {"ok": True}, {"ok": False, "error": "drone-locked", "message": "m"}

    def lock(actor: str, answer: object) -> Item:
        return Item(actor, "emit", "requestSessionLock", {"registrationId": "<drone d0>"},
                    answer)

    def obs(first: object, second: object) -> Observation:
        found = Observation("s", "passed")
        found.items = {("ide0", "emit"): [lock("ide0", first)],
                       ("ide1", "emit"): [lock("ide1", second)]}
        return found

    swapped = compare_scenario(ScenarioRuns("s", "f", (obs(ok, locked),)),
                               ScenarioRuns("s", "f", (obs(locked, ok),)))
    assert swapped.differences == []
    assert {d.rule for d in swapped.unstable} == {
        "a race the scenario leaves open went the other way"}
    lost = compare_scenario(ScenarioRuns("s", "f", (obs(ok, locked),)),
                            ScenarioRuns("s", "f", (obs(locked, locked),)))
    assert [d.verdict for d in lost.differences] == ["regression"]


def test_timing_of_a_client_that_reconnected_on_both_sides_is_noise() -> None:
    def obs(connects: int, reconnected: bool) -> Observation:
        found = Observation("s", "passed")
        found.items = {("ide", "link"): [Item("ide", "link", "connect", seq=n)
                                          for n in range(connects)]}
        found.reconnected = frozenset({"ide"}) if reconnected else frozenset()
        return found

    flapping = compare_scenario(ScenarioRuns("s", "f", (obs(4, True),)),
                                ScenarioRuns("s", "f", (obs(3, True),)))
    assert flapping.differences == [] and flapping.unstable
    stranded = compare_scenario(ScenarioRuns("s", "f", (obs(2, True),)),
                                ScenarioRuns("s", "f", (obs(1, False),)))
    assert [(d.kind, d.verdict) for d in stranded.differences] == [("fewer", "regression")]


def test_concurrent_work_orders_may_reach_an_actor_in_either_order() -> None:
    def prompt(text: str, group: str) -> Item:
        return Item("d0", "receive", "submitPrompt", {"workOrderId": "<id>", "prompt": text},
                    group=group)

    one = [prompt("first", "#1"), prompt("second", "#2")]
    swapped = [prompt("second", "#1"), prompt("first", "#2")]
    [diff] = sequence(one, swapped)
    assert diff.kind == "reordered"
    assert judge(diff, "receive").verdict == "allowed"


def test_an_ide_that_missed_part_of_one_of_two_alike_streams_is_not_out_of_order() -> None:
    def event(seq: int, group: str) -> Item:
        return _item("thinking", {"seq": seq, "text": f"t{seq}"}, group=group)

    base = [event(0, "#1"), event(1, "#1"), event(0, "#2"), event(1, "#2")]
    missed = [event(0, "#1"), event(0, "#2"), event(1, "#2")]
    moved = [d for d in sequence(base, missed) if d.kind == "reordered"]
    assert moved and judge(moved[0], "receive").verdict == "allowed"
