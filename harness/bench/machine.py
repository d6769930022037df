"""A one-line-per-fact description of the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

__all__ = ["describe_machine"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def describe_machine() -> dict[str, object]:
    """CPU model and count, memory, OS, Python, and the load average when measured."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memoryGiB": _memory_gib(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "loadAverage": load,
    }
