"""A container image of the independent Node.js relay, built from nothing on this machine.

    .venv/bin/python tests/relays/node/image.py [--verbose]   # prints the image tag

1. base   ``BaseRecipe(packages=("nodejs",))``: Debian bookworm with Debian's ``nodejs``
          (18.x), built with debootstrap by ``harness.images.base.build_base`` unless its
          tag exists (needs root, ``debootstrap`` and the Debian mirror; a few minutes).
2. relay  ``tests/relays/node/Dockerfile`` on that base. The build context is a temporary
          folder holding the relay's ``*.js``, ``package.json``, ``package-lock.json`` and
          ``node_modules``, installed there on the host by ``npm ci --omit=dev``; the build
          itself downloads nothing, and nothing is written into the checkout.

The relay image is tagged ``gadget-harness/node-relay:<hash>``, the hash covering the
Dockerfile, the base image's id, the ``*.js`` files, ``package.json`` and
``package-lock.json`` (which pins ``node_modules``), so a second call builds nothing.
Progress goes to stderr; a failure is one line naming the step and the fix.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.errors import EnvError, HarnessError
from harness.images.base import BaseRecipe, build_base
from harness.images.dockercli import LABEL_INPUTS, LABEL_ROLE, build, docker, image_id
from harness.images.hashing import content_hash

log = logging.getLogger("node_relay_image")

HERE = Path(__file__).resolve().parent
DOCKERFILE = HERE / "Dockerfile"
REPOSITORY = "gadget-harness/node-relay"
ROLE = "node-relay"
NODE_RECIPE = BaseRecipe(packages=("nodejs",), role="node-base")
PACKAGE_FILES = ("package.json", "package-lock.json")
# Bump when this recipe changes the image without changing a hashed file (npm's flags).
_RECIPE = "1"
_NPM_CI = ("npm", "ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit",
           "--no-fund", "--loglevel=error")
_NPM_TIMEOUT = 600.0
_ERROR_LINE = re.compile(r"\b(err!?|error|failed|denied|not found)\b", re.IGNORECASE)


def relay_files() -> list[Path]:
    """The files copied into the image besides ``node_modules``: ``*.js`` and the package files."""
    return [*sorted(HERE.glob("*.js")), *(HERE / name for name in PACKAGE_FILES)]


def image_inputs(base_id: str) -> dict[str, bytes | str]:
    """Everything the relay image is made of (hashed into its tag)."""
    return {
        "recipe": _RECIPE,
        "dockerfile": DOCKERFILE.read_bytes(),
        "base": base_id,
        **{f"src/{path.name}": path.read_bytes() for path in relay_files()},
    }


def ensure_image() -> str:
    """Build the Node base if missing, then the relay image unless its tag exists; its tag.

    Blocking: minutes on a cold machine, about a second when both images are here. Raises
    ``EnvError`` with one line naming the failed step (docker, debootstrap, npm ci, docker
    build) and its fix.
    """
    _check_engine()
    base = _ensure_base()
    base_id = image_id(base)
    if base_id is None:
        raise EnvError(f"base image {base} vanished after it was built; run this again")
    digest = content_hash(image_inputs(base_id))
    tag = f"{REPOSITORY}:{digest}"
    if image_id(tag) is not None:
        log.info("node relay image %s is cached", tag)
        return tag
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gadget-node-relay-") as tmp:
        context = Path(tmp)
        for path in relay_files():
            shutil.copy2(path, context / path.name)
        _npm_ci(context)
        log.info("building %s on %s", tag, base)
        try:
            build(DOCKERFILE, context, tag, {"BASE_IMAGE": base},
                  {LABEL_ROLE: ROLE, LABEL_INPUTS: digest})
        except EnvError as exc:
            _detail(str(exc))
            raise EnvError(f"docker build of {tag} failed: {_gist(str(exc))}; fix: rerun with "
                           f"--verbose for the build's output") from exc
    log.info("built node relay image %s in %.1f s", tag, time.monotonic() - started)
    return tag


def _check_engine() -> None:
    if shutil.which("docker") is None:
        raise EnvError("docker: no `docker` command on PATH; fix: bash scripts/ci-docker.sh")
    try:
        result = docker("info", "--format", "{{.ServerVersion}}", timeout=20, check=False)
    except EnvError as exc:
        raise EnvError(f"docker: {_gist(str(exc))}; fix: bash scripts/ci-docker.sh") from exc
    if result.returncode != 0 or not result.stdout.strip():
        raise EnvError(f"docker: the engine does not answer ({_gist(result.stderr)}); "
                       f"fix: bash scripts/ci-docker.sh")


def _ensure_base() -> str:
    if image_id(NODE_RECIPE.tag) is None:
        log.info("building the Node base image %s with debootstrap (a few minutes)",
                 NODE_RECIPE.tag)
    started = time.monotonic()
    try:
        tag = build_base(NODE_RECIPE)
    except HarnessError as exc:
        _detail(str(exc))
        raise EnvError(f"debootstrap of the Node base image {NODE_RECIPE.tag} failed: "
                       f"{_gist(str(exc))}; fix: run as root with debootstrap installed "
                       f"(apt-get install debootstrap) and a reachable Debian mirror "
                       f"(GADGET_DEBIAN_MIRROR)") from exc
    elapsed = time.monotonic() - started
    if elapsed > 5:
        log.info("built the Node base image %s in %.1f s", tag, elapsed)
    return tag


def _npm_ci(context: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise EnvError("npm ci: no `npm` on PATH; fix: install Node.js and npm on the host "
                       "(apt-get install npm)")
    log.info("installing the production dependencies (npm ci --omit=dev)")
    try:
        result = subprocess.run([npm, *_NPM_CI[1:]], cwd=context, capture_output=True,
                                text=True, timeout=_NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EnvError(f"npm ci: did not finish within {_NPM_TIMEOUT:g} s; fix: check that "
                       f"the npm registry (npm config get registry) answers") from exc
    if result.returncode != 0:
        output = result.stdout + result.stderr
        _detail(output)
        raise EnvError(f"npm ci failed (status {result.returncode}): {_npm_gist(output)}; fix: "
                       f"check that the npm registry answers and that package-lock.json "
                       f"matches package.json (npm install --package-lock-only)")


def _gist(text: str) -> str:
    """One line out of a tool's output: the first error-looking line after the first line
    (which is usually our own "... failed (status N):" header), else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "no output"
    body = lines[1:] or lines
    return _clip(next((line for line in body if _ERROR_LINE.search(line)), body[-1]))


def _clip(line: str, limit: int = 240) -> str:
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _npm_gist(text: str) -> str:
    """npm's error in one line: ``CODE: first message line`` (prefixes and blanks dropped)."""
    code = ""
    for raw in text.splitlines():
        line = re.sub(r"^npm (error|ERR!)\s*", "", raw.strip())
        key, _, value = line.partition(" ")
        if key in ("code", "errno", "syscall"):
            code = code or value.strip()
        elif line and line != raw.strip():
            return _clip(f"{code}: {line}" if code else line)
    return _gist(text)


def _detail(text: str) -> None:
    log.debug("output:\n%s", "\n".join(text.strip().splitlines()[-40:]))


def main(argv: list[str] | None = None) -> int:
    """Print the image's tag on stdout; progress and a failure's one line go to stderr."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--verbose", action="store_true",
                        help="log each docker command and a failed step's output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        stream=sys.stderr, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S")
    try:
        tag = ensure_image()
    except HarnessError as exc:
        print(f"node relay image: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("node relay image: interrupted", file=sys.stderr)
        return 130
    print(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
