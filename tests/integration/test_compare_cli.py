"""``harness compare`` live, as a release engineer runs it: real relays (the clean reference
relay, one with a known bug, one with another answer the contract allows), real sockets,
the report files on disk.

The full pack against every switch and variant is the compare column of ``harness
selftest`` (CI); these run a few scenarios each.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _harness_cli import run_harness as harness

pytestmark = [pytest.mark.timeout(300)]

FULL = "scenarios/delivery/full-work-order.scenario.yaml"
RECONNECTING = "scenarios/network/ide-blip-mid-stream.scenario.yaml"
TWO_DRONES = "scenarios/ordering/two-drones-one-chat.scenario.yaml"
LOCK_RACE = "scenarios/locking/lock-race.scenario.yaml"


def _report(folder: Path) -> dict[str, Any]:
    assert (folder / "index.html").is_file()
    data: dict[str, Any] = json.loads((folder / "compare.json").read_text())
    return data


def test_a_known_bug_is_a_regression_that_names_the_change(tmp_path: Path) -> None:
    done = harness("compare", FULL, LOCK_RACE, "--baseline", "local", "--candidate",
                   "local:regress=lookup-by-socket-id", "--runs", "1", "--report",
                   str(tmp_path), timeout=240)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "REGRESSION  delivery/full-work-order: full work order" in out
    assert "ide requestSessionLock: ack ok → drone-offline" in out
    assert "d0 requestSessionLock no longer arrives" in out
    assert "passed → failed" in out
    assert "result:" in out and "regression(s) → exit 1" in out
    data = _report(tmp_path)
    assert data["exitCode"] == 1 and data["counts"]["regression"] >= 4
    kinds = {(d["kind"], d["event"]) for s in data["scenarios"] for d in s["differences"]
             if d["verdict"] == "regression"}
    assert ("error-code", "requestSessionLock") in kinds
    assert ("verdict", None) in kinds
    page = (tmp_path / "index.html").read_text()
    assert page.count("<svg") >= 2  # the two sequence diagrams of a changed scenario


def test_an_allowed_answer_is_shown_as_allowed_and_exits_0(tmp_path: Path) -> None:
    done = harness("compare", FULL, "--baseline", "local", "--candidate",
                   "local:variant=extra-fields", "--runs", "1", "--report", str(tmp_path),
                   timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ALLOWED     delivery/full-work-order: full work order" in done.stdout
    assert "[allowed: 11.2 extra fields]" in done.stdout
    assert "result: no regression → exit 0" in done.stdout
    data = _report(tmp_path)
    allowed = [d for s in data["scenarios"] for d in s["differences"]]
    assert allowed and all(d["verdict"] == "allowed" for d in allowed)
    assert any(f["kind"] == "added" for d in allowed for f in d["fields"])


def test_the_clean_relay_against_itself_differs_only_by_noise(tmp_path: Path) -> None:
    """Two runs a side; an IDE that blips mid-stream receives what its timing lets it, which
    may differ from run to run: noise, never a regression."""
    done = harness("compare", FULL, RECONNECTING, TWO_DRONES, "--baseline", "local",
                   "--candidate", "local", "--runs", "2", "--report", str(tmp_path),
                   timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 with regressions" in done.stdout
    data = _report(tmp_path)
    assert data["counts"]["regression"] == 0
    assert {row["event"] for row in data["latency"]} >= {"thinking", "workOrderComplete"}
    assert all(row["noise"] is not None for row in data["latency"])


def test_a_git_revision_of_our_relay_is_a_side(tmp_path: Path) -> None:
    done = harness("compare", FULL, "--baseline", "local:rev=HEAD", "--candidate", "local",
                   "--runs", "1", "--report", str(tmp_path), timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "baseline   local:rev=HEAD" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--baseline", "local", "--candidate", "local:regres=lock-retry-ok"],
     "--candidate 'local:regres=lock-retry-ok': local takes no regres=; it takes regress=, "
     "variant=, rev="),
    (["--baseline", "external:url=http://127.0.0.1:9", "--candidate", "local"],
     "--baseline 'external:url=http://127.0.0.1:9': external needs url= and mongo="),
    (["--baseline", "local:rev=no-such-revision-xyz", "--candidate", "local"],
     "--baseline rev=no-such-revision-xyz: cannot check it out"),
    (["--baseline", "local", "--candidate", "local", "--max-p99-regression", "lots"],
     "--max-p99-regression 'lots': expected a percentage such as 20% (or 0.2)"),
])
def test_bad_sides_are_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    done = harness("compare", FULL, *args, "--report", str(tmp_path), timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_load_profile_is_compared_and_a_broken_relay_regresses_under_it(
        tmp_path: Path) -> None:
    done = harness("compare", "--no-pack", "--load",
                   "drones=4,drones-per-user=2,rate=10,duration=3,workers=1,ramp-up=1",
                   "--baseline", "local", "--candidate", "local:regress=lookup-by-socket-id",
                   "--runs", "1", "--report", str(tmp_path), timeout=240)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "load (drones=4," in done.stdout
    data = _report(tmp_path)
    load = data["load"]
    assert load["baseline"]["violations"] == {} and load["baseline"]["p99ByRun"]
    assert load["differences"], load
    assert any("errors requestSessionLock" in d["summary"] or "violations" in d["summary"]
               for d in load["differences"])


def test_explore_with_one_seed_finds_what_only_the_candidate_does(tmp_path: Path) -> None:
    done = harness("compare", "--no-pack", "--explore-seed", "1", "--explore-examples", "25",
                   "--baseline", "local", "--candidate", "local:regress=lookup-by-socket-id",
                   "--runs", "1", "--report", str(tmp_path), timeout=280)
    assert done.returncode == 1, done.stdout + done.stderr
    data = _report(tmp_path)["explore"]
    assert data["baseline"]["finding"] is None
    assert data["candidate"]["finding"]
    assert data["candidateFindingOnBaseline"] == "passed"
    assert [d["verdict"] for d in data["differences"]] == ["regression"]
    assert Path(data["candidate"]["file"]).is_file()
