"""A Debian base image from Debian's own packages: ``debootstrap`` + ``docker import``.

The image is tagged by a hash of (suite, package list, recipe version), so it is built once
per machine; the mirror is not part of the hash (every mirror serves the same suite).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import EnvError
from harness.images.dockercli import LABEL_INPUTS, LABEL_ROLE, docker, image_id
from harness.images.hashing import content_hash
from harness.images.mirror import find_mirror

log = logging.getLogger(__name__)

BASE_REPOSITORY = "gadget-harness/base"
DEFAULT_SUITE = "bookworm"
# python3-venv brings ensurepip, which the relay image uses to install its wheelhouse.
DEFAULT_PACKAGES: tuple[str, ...] = ("python3", "python3-venv")
# Bump when the recipe below changes in a way that changes the image.
_RECIPE = "1"
# Trimmed after bootstrap: nothing in them is needed to run Python.
_PRUNE = ("var/lib/apt/lists", "var/cache/apt", "var/cache/debconf/templates.dat-old",
          "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
          "usr/share/lintian", "var/log")


@dataclass(frozen=True)
class BaseRecipe:
    """What goes into the base image; its ``tag`` names the result."""

    suite: str = DEFAULT_SUITE
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    # The image's role label: ``harness images prune`` keeps the newest image of each role,
    # so a base with other packages (the Node base of tests/relays/node) needs its own.
    # Not hashed: the packages already tell the recipes apart.
    role: str = "base"

    @property
    def inputs_hash(self) -> str:
        """Hash of the suite, the sorted package list and the recipe version."""
        return content_hash({"suite": self.suite, "packages": " ".join(sorted(self.packages)),
                             "recipe": _RECIPE})

    @property
    def tag(self) -> str:
        """``gadget-harness/base:<suite>-<hash>``."""
        return f"{BASE_REPOSITORY}:{self.suite}-{self.inputs_hash}"


def build_base(recipe: BaseRecipe, mirror: str | None = None,
               work_dir: Path | None = None) -> str:
    """Build the base image unless its tag exists; returns the tag.

    Needs root and ``debootstrap``; takes a few minutes on a cold machine. Raises
    ``EnvError`` naming the step that failed, with the tail of its output.
    """
    if image_id(recipe.tag) is not None:
        log.info("base image %s is cached", recipe.tag)
        return recipe.tag
    if shutil.which("debootstrap") is None:
        raise EnvError("building the base image needs `debootstrap` (apt-get install "
                       "debootstrap, or run scripts/ci-docker.sh)")
    if os.geteuid() != 0:
        raise EnvError("building the base image needs root (debootstrap creates device "
                       "nodes and chroots)")
    source = mirror or find_mirror(recipe.suite)
    root = Path(tempfile.mkdtemp(prefix="gadget-base-", dir=work_dir or "/var/tmp"))
    try:
        log.info("bootstrapping Debian %s with %s", recipe.suite, ", ".join(recipe.packages))
        _run(["debootstrap", "--variant=minbase", "--components=main",
              "--include=" + ",".join(recipe.packages), recipe.suite, str(root), source],
             "debootstrap")
        _trim(root)
        _import(root, recipe)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    log.info("built base image %s", recipe.tag)
    return recipe.tag


def _run(argv: Sequence[str], step: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-25:]
        raise EnvError(f"{step} failed (status {result.returncode}):\n" + "\n".join(output))


def _trim(root: Path) -> None:
    for relative in _PRUNE:
        path = root / relative
        if path.is_dir():
            for child in path.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        elif path.exists():
            path.unlink()


def _import(root: Path, recipe: BaseRecipe) -> None:
    changes = [
        f"LABEL {LABEL_ROLE}={recipe.role}",
        f"LABEL {LABEL_INPUTS}={recipe.inputs_hash}",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV LANG=C.UTF-8",
        'CMD ["/bin/bash"]',
    ]
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    # --numeric-owner: ownership inside the image must not depend on the host's users.
    with subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as tar:
        assert tar.stdout is not None
        binary = shutil.which("docker") or "docker"
        imported = subprocess.run([binary, *args, "-", recipe.tag], stdin=tar.stdout,
                                  capture_output=True, text=True, check=False)
        tar.stdout.close()
        tar_status = tar.wait()
    if tar_status != 0:
        raise EnvError(f"tar of the bootstrapped tree failed (status {tar_status})")
    if imported.returncode != 0:
        raise EnvError(f"docker import failed: {imported.stderr.strip()}")
    docker("image", "inspect", recipe.tag)
