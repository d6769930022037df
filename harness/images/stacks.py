"""Our compose projects on the engine: unique names, finding them, removing them.

A project is named ``gadgetharness-<pid>-<random>`` after the process that owns it, so a
stack whose owner is gone (a crashed or killed run) is recognisably stale and can be swept.
Removal goes by the compose project label, so it works without the compose file.
"""

from __future__ import annotations

import logging
import os
import re
import secrets

from harness.host import pid_alive
from harness.images.dockercli import docker

log = logging.getLogger(__name__)

PROJECT_PREFIX = "gadgetharness"
PROJECT_LABEL = "com.docker.compose.project"
_NAME = re.compile(rf"^{PROJECT_PREFIX}-(\d+)-[0-9a-f]+$")
_KINDS = ("container", "network", "volume")


def new_project_name(pid: int | None = None) -> str:
    """A fresh project name owned by ``pid`` (this process by default)."""
    return f"{PROJECT_PREFIX}-{os.getpid() if pid is None else pid}-{secrets.token_hex(4)}"


def owner_pid(project: str) -> int | None:
    """The pid encoded in one of our project names, or None for anybody else's project."""
    match = _NAME.match(project)
    return int(match.group(1)) if match else None


def is_stale(project: str) -> bool:
    """True for one of our projects whose owning process no longer runs."""
    pid = owner_pid(project)
    return pid is not None and not pid_alive(pid)


def _list(kind: str, label_filter: str) -> list[str]:
    if kind == "container":
        args = ["ps", "--all", "--quiet", "--no-trunc"]
    else:
        args = [kind, "ls", "--quiet"]
    result = docker(*args, "--filter", f"label={label_filter}", timeout=60)
    return [line for line in result.stdout.split() if line]


def project_resources(project: str) -> dict[str, list[str]]:
    """Ids of the containers, networks and volumes labelled with ``project``."""
    return {kind: _list(kind, f"{PROJECT_LABEL}={project}") for kind in _KINDS}


def our_projects() -> set[str]:
    """Names of every project of ours with anything left on the engine."""
    names: set[str] = set()
    label = '{{.Label "' + PROJECT_LABEL + '"}}'
    for kind in _KINDS:
        args = ["ps", "--all"] if kind == "container" else [kind, "ls"]
        result = docker(*args, "--filter", f"label={PROJECT_LABEL}", "--format", label,
                        timeout=60)
        names.update(name for line in result.stdout.splitlines()
                     if owner_pid(name := line.strip()) is not None)
    return names


def remove_project(project: str) -> None:
    """Force-remove every container, network and volume of ``project``. Idempotent."""
    resources = project_resources(project)
    if resources["container"]:
        docker("rm", "--force", "--volumes", *resources["container"], check=False, timeout=120)
    if resources["network"]:
        docker("network", "rm", *resources["network"], check=False, timeout=60)
    if resources["volume"]:
        docker("volume", "rm", "--force", *resources["volume"], check=False, timeout=60)
    left = {kind: ids for kind, ids in project_resources(project).items() if ids}
    if left:
        log.warning("could not remove everything of %s: %s", project, left)


def sweep_stale_projects() -> list[str]:
    """Remove every project of ours whose owner is gone; returns their names."""
    stale = sorted(name for name in our_projects() if is_stale(name))
    for project in stale:
        log.info("removing stale compose stack %s (its run is gone)", project)
        remove_project(project)
    return stale
