"""The ``docker`` command line, with its failures turned into ``EnvError``.

Blocking by design (image builds are batch work); async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.errors import EnvError

log = logging.getLogger(__name__)

LABEL_ROLE = "org.gadget-harness.image"
LABEL_INPUTS = "org.gadget-harness.inputs"
# The images this project builds, by role label; ``harness images prune`` keeps the newest
# of each. The node-* ones are the independent Node.js relay's (tests/relays/node).
ROLES = ("base", "relay", "standin", "node-base", "node-relay")


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def docker(*args: str, input_bytes: bytes | None = None, timeout: float | None = 600,
           check: bool = True, cwd: Path | None = None,
           env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGS``; raises ``EnvError`` with the tail of stderr when it fails."""
    binary = shutil.which("docker")
    if binary is None:
        raise EnvError("no `docker` command on PATH (see scripts/ci-docker.sh)")
    log.debug("docker %s", " ".join(args))
    try:
        result = subprocess.run(
            [binary, *args], input=input_bytes, capture_output=True, timeout=timeout,
            check=False, cwd=cwd, env=dict(env) if env is not None else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise EnvError(f"`docker {' '.join(args[:3])}` did not finish within "
                       f"{timeout:g} s") from exc
    completed = subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"))
    if check and completed.returncode != 0:
        raise EnvError(f"`docker {' '.join(args[:3])}` failed (status {completed.returncode}):"
                       f"\n{_tail(completed.stderr or completed.stdout)}")
    return completed


def engine_problem() -> str | None:
    """Why no Docker engine is usable here, or None when one answers."""
    if shutil.which("docker") is None:
        return "no `docker` command on PATH"
    try:
        result = docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False)
    except EnvError as exc:
        return str(exc)
    if result.returncode != 0 or not result.stdout.strip():
        return f"the Docker engine does not answer: {_tail(result.stderr, 3)}"
    compose = docker("compose", "version", "--short", timeout=20, check=False)
    if compose.returncode != 0:
        return (f"the `docker compose` plugin is missing (`docker compose version`: "
                f"{_tail(compose.stderr or compose.stdout, 1)})")
    return None


def image_id(reference: str) -> str | None:
    """The id of a local image, or None when it is not here (nothing is pulled)."""
    result = docker("image", "inspect", "--format", "{{.Id}}", reference, check=False,
                    timeout=60)
    return result.stdout.strip() or None if result.returncode == 0 else None


def try_pull(reference: str, timeout: float = 120) -> bool:
    """Pull ``reference``; False (logged, not raised) when no registry can be reached."""
    result = docker("pull", "--quiet", reference, check=False, timeout=timeout)
    if result.returncode != 0:
        log.info("cannot pull %s: %s", reference, _tail(result.stderr, 1))
        return False
    return True


def our_images() -> list[dict[str, str]]:
    """Every local image this project built, newest first per role: repository, tag, id, role."""
    images: list[dict[str, str]] = []
    for role in ROLES:
        result = docker("image", "ls", "--filter", f"label={LABEL_ROLE}={role}", "--format",
                        "{{json .}}", timeout=60)
        for line in result.stdout.splitlines():
            if line.strip():
                row = json.loads(line)
                images.append({"repository": row.get("Repository", ""),
                               "tag": row.get("Tag", ""), "id": row.get("ID", ""),
                               "size": row.get("Size", ""),
                               "created": row.get("CreatedSince", ""), "role": role})
    return images


def build(dockerfile: Path, context: Path, tag: str, build_args: Mapping[str, str],
          labels: Mapping[str, str], timeout: float = 900) -> None:
    """``docker build`` one image (no pull: bases are local or already pulled)."""
    args = ["build", "--quiet", "--file", str(dockerfile), "--tag", tag]
    for key, value in build_args.items():
        args += ["--build-arg", f"{key}={value}"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    # The legacy builder: it needs no buildx plugin, which Debian's engine lacks.
    docker(*args, str(context), timeout=timeout, env={**os.environ, "DOCKER_BUILDKIT": "0"})


def prune_dangling() -> None:
    """Remove our untagged images (the relay build's install stage is one)."""
    docker("image", "prune", "--force", "--filter", f"label={LABEL_ROLE}", check=False,
           timeout=120)


def remove_images(references: Sequence[str]) -> None:
    """Remove images by reference; images still in use are kept (and logged)."""
    if references:
        result = docker("image", "rm", *references, check=False, timeout=120)
        if result.returncode != 0:
            log.info("some images were kept: %s", _tail(result.stderr, 3))
