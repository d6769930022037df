"""``harness compare`` with sides in containers: a relay image against the local relay, and
two compose stacks at once (clean against a known bug).

Skips when no Docker engine is reachable, unless ``GADGET_REQUIRE_DOCKER=1`` (CI).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _harness_cli import run_harness as harness
from conftest import skip_or_fail

from harness.images.build import ensure_images
from harness.images.dockercli import engine_problem

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

FULL = "scenarios/delivery/full-work-order.scenario.yaml"


@pytest.fixture(scope="module")
def relay_image() -> str:
    """The reference relay's image (built when missing), or a skip without an engine."""
    problem = engine_problem()
    skip_or_fail(f"no Docker engine: {problem}" if problem else None, "GADGET_REQUIRE_DOCKER")
    return ensure_images().relay


def test_an_image_side_is_compared_with_the_local_relay(relay_image: str,
                                                         tmp_path: Path) -> None:
    done = harness("compare", FULL, "--baseline", "local", "--candidate",
                   f"compose:image={relay_image}", "--runs", "1", "--report", str(tmp_path),
                   timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"candidate  compose:image={relay_image}" in done.stdout
    data = json.loads((tmp_path / "compare.json").read_text())
    assert data["counts"]["regression"] == 0
    assert data["scenarios"][0]["candidate"]["status"] == ["passed"]


def test_two_stacks_side_by_side_show_a_known_bug(relay_image: str, tmp_path: Path) -> None:
    done = harness("compare", FULL, "--baseline", "compose", "--candidate",
                   "compose:regress=lookup-by-socket-id", "--runs", "1", "--report",
                   str(tmp_path), timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ide requestSessionLock: ack ok → drone-offline" in done.stdout
