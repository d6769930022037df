"""The tutorial of docs/scenarios.md ("Write your first scenario") cannot rot: the page
shows the files of docs/tutorial/ as they are, they pass against the reference relay, and
the first one catches the original bug with a failure that names it."""

from __future__ import annotations

import re

import pytest
from _harness_cli import REPO, run_harness

DOCS = REPO / "docs" / "scenarios.md"
TUTORIAL = REPO / "docs" / "tutorial"
_SHOWN = re.compile(r"<!-- file: (\S+) -->\n```yaml\n(.*?)```\n", re.S)


def test_the_page_shows_every_tutorial_file_as_it_is() -> None:
    shown = {name: text for name, text in _SHOWN.findall(DOCS.read_text("utf-8"))}
    files = {str(p.relative_to(REPO)): p.read_text("utf-8")
             for p in sorted(TUTORIAL.rglob("*.yaml"))}
    assert set(shown) == set(files), "docs/scenarios.md and docs/tutorial/ list other files"
    for name, text in files.items():
        assert shown[name] == text, f"docs/scenarios.md shows an old {name}"


def test_the_tutorial_passes_against_the_reference_relay() -> None:
    done = run_harness("run", "docs/tutorial", "--log-level", "warning")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 0 failed" in done.stdout


@pytest.mark.parametrize("scenario", ["first.scenario.yaml", "second.scenario.yaml"])
def test_the_tutorial_catches_the_original_bug_and_names_it(scenario: str) -> None:
    done = run_harness("run", f"docs/tutorial/{scenario}", "--regress", "lookup-by-socket-id",
                       "--log-level", "warning")
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"expected ok, got refused 'drone-offline' .*, but drone d\d "
                     r"\([0-9a-f]{24}\) is connected as \S+; requestSessionLock never "
                     r"reached drone d\d", done.stdout), done.stdout
