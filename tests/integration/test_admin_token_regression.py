"""Issue 13, finding 3: a wrong admin token must not silently disable the leak checks.

Measured then: against a relay with the stale-index regression, ``--admin-token WRONG``
(or none) passed and exited 0, while the right token failed. Now a refused token stops the
run (exit 2, one line), no token passes but says which checks it did not make, and the right
token catches the leak.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from _harness_cli import run_harness as harness
from conftest import MakeRelayEnv

PACK = "scenarios/cleanup/everyone-gone.scenario.yaml"


async def test_the_leak_is_caught_with_the_token_and_never_passed_off_without_it(
        make_relay_env: MakeRelayEnv, tmp_path: Path) -> None:
    relay = await make_relay_env(regressions=frozenset({"stale-index-on-disconnect"}),
                                 admin_token="the-right-token")
    external = ["--env", "external", "--relay-url", relay.relay_url, "--mongo-uri",
                relay.mongo_uri, "--database", relay.database,
                "--report", str(tmp_path / "report")]

    right = await asyncio.to_thread(harness, "run", PACK, *external,
                                    "--admin-token", "the-right-token")
    assert right.returncode == 1, right.stdout + right.stderr
    assert "[leaks]" in right.stdout

    wrong = await asyncio.to_thread(harness, "run", PACK, *external, "--admin-token", "WRONG")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "refused the admin token" in wrong.stderr and "PASSED" not in wrong.stdout
    assert "WRONG" not in wrong.stdout + wrong.stderr  # the token is never echoed
    assert "Traceback" not in wrong.stdout + wrong.stderr

    none = await asyncio.to_thread(harness, "run", PACK, *external)
    assert none.returncode == 0, none.stdout + none.stderr
    assert "not checked: leak checks skipped: no admin token was given" in none.stdout
