"""``harness run`` keeps the relay's and the database's output beside the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from harness.commands.scenario import _write_logs
from harness.env.base import Environment


class _Logs:
    """The two members ``_write_logs`` reads of an environment."""

    def __init__(self, logs: dict[str, str], token: str | None) -> None:
        self._logs, self.admin_token = logs, token

    def logs(self) -> dict[str, str]:
        return self._logs


def _env(logs: dict[str, str], token: str | None) -> Environment:
    return cast(Environment, cast(Any, _Logs(logs, token)))


def test_each_log_is_written_with_the_admin_token_masked(tmp_path: Path) -> None:
    env = _env({"relay": "start\nX-Admin-Token: s3cret-token\n", "mongo": "ok\n"}, "s3cret-token")
    folder = _write_logs(tmp_path, env)
    assert folder == tmp_path / "logs"
    assert (folder / "relay.log").read_text() == "start\nX-Admin-Token: ***\n"
    assert (folder / "mongo.log").read_text() == "ok\n"


def test_no_logs_no_folder(tmp_path: Path) -> None:
    assert _write_logs(tmp_path, _env({}, None)) is None
    assert not (tmp_path / "logs").exists()
