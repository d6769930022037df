"""Decide which images a container run uses, and build the missing ones from nothing.

    base      official ``python:3.11-slim`` when here (or pullable), else a debootstrap base
    relay     ``docker/relay.Dockerfile`` on the base, from a wheelhouse built on the host
    database  official ``mongo:7`` when here (or pullable), else ``docker/standin.Dockerfile``:
              the relay image running the MongoDB wire-protocol stand-in

Every built image is tagged by a hash of its inputs (Dockerfile, base image id, the host's
pinned dependency versions, the project's source files), so a second run builds nothing.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import harness
from harness.errors import ConfigError, EnvError
from harness.images.base import BaseRecipe, build_base
from harness.images.dockercli import (
    LABEL_INPUTS,
    LABEL_ROLE,
    build,
    image_id,
    prune_dangling,
    try_pull,
)
from harness.images.hashing import (
    constraints_text,
    content_hash,
    pinned_dependencies,
    source_files,
)

log = logging.getLogger(__name__)

BaseChoice = Literal["auto", "official", "debootstrap"]
DatabaseImageChoice = Literal["auto", "mongo", "standin"]
BASE_CHOICES: tuple[BaseChoice, ...] = ("auto", "official", "debootstrap")
DATABASE_IMAGE_CHOICES: tuple[DatabaseImageChoice, ...] = ("auto", "mongo", "standin")

OFFICIAL_PYTHON = "python:3.11-slim"
OFFICIAL_MONGO = "mongo:7"
RELAY_REPOSITORY = "gadget-harness/relay"
STANDIN_REPOSITORY = "gadget-harness/standin"
DISTRIBUTION = "gadget-harness"
_PACKAGES = ("harness", "seed", "fixtures")
_PROJECT_FILES = ("pyproject.toml", "README.md")


@dataclass(frozen=True)
class BuildOptions:
    """What to use or build. ``pull`` lets ``auto`` try the official images first."""

    base: BaseChoice = "auto"
    database: DatabaseImageChoice = "auto"
    pull: bool = False
    build_missing: bool = True
    official_python: str = OFFICIAL_PYTHON
    official_mongo: str = OFFICIAL_MONGO
    recipe: BaseRecipe = field(default_factory=BaseRecipe)

    def __post_init__(self) -> None:
        if self.base not in BASE_CHOICES:
            raise ConfigError(f"--base: expected one of {', '.join(BASE_CHOICES)}, "
                              f"got {self.base!r}")
        if self.database not in DATABASE_IMAGE_CHOICES:
            raise ConfigError(f"--database-image: expected one of "
                              f"{', '.join(DATABASE_IMAGE_CHOICES)}, got {self.database!r}")


@dataclass(frozen=True)
class Images:
    """The images a compose run uses, and which of them this call built."""

    base: str
    relay: str
    database: str
    database_kind: Literal["mongo", "standin"]
    built: tuple[str, ...] = ()

    def describe_database(self) -> str:
        """Plain words for summaries: which database the run used."""
        if self.database_kind == "mongo":
            return f"MongoDB ({self.database})"
        return f"MongoDB wire-protocol stand-in ({self.database})"


def project_root() -> Path:
    """The source checkout the harness runs from; raises ``EnvError`` outside one."""
    root = Path(harness.__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file() or not (root / "docker").is_dir():
        raise EnvError(f"building images needs the project's source checkout (pyproject.toml "
                       f"and docker/ beside harness/); {root} is not one")
    return root


def relay_inputs(root: Path, base_id: str) -> dict[str, bytes | str]:
    """Everything the relay image is made of (hashed into its tag)."""
    return {
        "dockerfile": (root / "docker" / "relay.Dockerfile").read_bytes(),
        "base": base_id,
        "constraints": constraints_text(pinned_dependencies(DISTRIBUTION)),
        **{f"src/{name}": data for name, data in
           source_files(root, _PACKAGES, _PROJECT_FILES).items()},
    }


def ensure_images(options: BuildOptions | None = None) -> Images:
    """Resolve (and, with ``build_missing``, build) the base, relay and database images.

    Blocking; minutes on a cold machine, a second or so when everything is cached. Raises
    ``EnvError`` naming the image and the step that failed, or when an image is missing and
    ``build_missing`` is off.
    """
    opts = options or BuildOptions()
    root = project_root()
    built: list[str] = []
    base = _resolve_base(opts, built)
    base_id = image_id(base)
    if base_id is None:
        raise EnvError(f"base image {base} vanished after it was resolved")
    relay_hash = content_hash(relay_inputs(root, base_id))
    relay = f"{RELAY_REPOSITORY}:{relay_hash}"
    if image_id(relay) is None:
        _require_build(opts, relay)
        _build_relay(root, base, relay, relay_hash)
        built.append(relay)
    database, kind = _resolve_database(opts, root, relay, built)
    images = Images(base, relay, database, kind, tuple(built))
    log.info("images: relay %s on %s; database %s", relay, base, images.describe_database())
    return images


def _require_build(opts: BuildOptions, image: str) -> None:
    if not opts.build_missing:
        raise EnvError(f"image {image} is not built; run `harness images build`")


def _resolve_base(opts: BuildOptions, built: list[str]) -> str:
    if opts.base != "debootstrap" and _available(opts.official_python, opts.pull):
        return opts.official_python
    if opts.base == "official":
        raise EnvError(f"--base official: {opts.official_python} is not here and cannot be "
                       f"pulled; use --base auto or debootstrap")
    if image_id(opts.recipe.tag) is None:
        _require_build(opts, opts.recipe.tag)
        built.append(build_base(opts.recipe))
    return opts.recipe.tag


def _resolve_database(opts: BuildOptions, root: Path, relay: str,
                      built: list[str]) -> tuple[str, Literal["mongo", "standin"]]:
    if opts.database != "standin" and _available(opts.official_mongo, opts.pull):
        return opts.official_mongo, "mongo"
    if opts.database == "mongo":
        raise EnvError(f"--database-image mongo: {opts.official_mongo} is not here and cannot "
                       f"be pulled; use --database-image auto or standin")
    dockerfile = root / "docker" / "standin.Dockerfile"
    digest = content_hash({"dockerfile": dockerfile.read_bytes(), "app": relay})
    standin = f"{STANDIN_REPOSITORY}:{digest}"
    if image_id(standin) is None:
        _require_build(opts, standin)
        with tempfile.TemporaryDirectory(prefix="gadget-standin-") as context:
            build(dockerfile, Path(context), standin, {"APP_IMAGE": relay},
                  {LABEL_ROLE: "standin", LABEL_INPUTS: digest})
        log.info("built database stand-in image %s", standin)
        built.append(standin)
    return standin, "standin"


def _available(reference: str, pull: bool) -> bool:
    return image_id(reference) is not None or (pull and try_pull(reference))


def _build_relay(root: Path, base: str, tag: str, digest: str) -> None:
    with tempfile.TemporaryDirectory(prefix="gadget-relay-") as tmp:
        context = Path(tmp) / "context"
        build_wheelhouse(root, context / "wheels", Path(tmp) / "src")
        build(root / "docker" / "relay.Dockerfile", context, tag, {"BASE_IMAGE": base},
              {LABEL_ROLE: "relay", LABEL_INPUTS: digest})
    prune_dangling()
    log.info("built relay image %s", tag)


def build_wheelhouse(root: Path, wheels: Path, scratch: Path) -> None:
    """Wheels of the project and its dependencies at the host's versions, into ``wheels``.

    Builds from a copy of the sources, so the checkout gets no ``build/`` directory. Uses
    the package index (or pip's cache); raises ``EnvError`` with pip's output on failure.
    """
    for name in (*_PACKAGES, *_PROJECT_FILES):
        source = root / name
        if source.is_dir():
            shutil.copytree(source, scratch / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.is_file():
            scratch.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / name)
    constraints = scratch / "constraints.txt"
    constraints.write_text(constraints_text(pinned_dependencies(DISTRIBUTION)))
    log.info("building the wheelhouse")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--wheel-dir", str(wheels), "--constraint", str(constraints), str(scratch)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise EnvError(f"building the wheelhouse failed (status {result.returncode}):\n{tail}")
