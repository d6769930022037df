"""Pass/fail thresholds on a load run's results, as load tools write them.

    p99<50ms   rate>3000/s   errors==0   violations==0   submit_p99<=200ms   max<1s

A threshold is ``<metric><op><number>[unit]``. Latency metrics (``p50``, ``p90``, ``p99``,
``max``, ``mean`` of the delivery latency, or of ``lock_``/``submit_``/``connect_`` times)
need a unit: ``us``, ``ms`` or ``s``. ``rate`` (delivered events per second) takes ``/s``
or nothing. Counts (``errors``, ``violations``, ``delivered``) take no unit.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from harness.errors import ConfigError

__all__ = [
    "METRICS",
    "Threshold",
    "ThresholdResult",
    "evaluate",
    "format_metric",
    "parse_threshold",
    "parse_thresholds",
]

_STATS: Final = ("p50", "p90", "p99", "max", "mean")
_SCOPES: Final = ("lock", "submit", "connect")
LATENCY_METRICS: Final = (*_STATS, *(f"{s}_{t}" for s in _SCOPES for t in _STATS))
COUNT_METRICS: Final = ("errors", "violations", "delivered")
METRICS: Final = (*LATENCY_METRICS, "rate", *COUNT_METRICS)

_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_TIME_UNITS: Final = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_PATTERN: Final = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z/]*)\s*$"
)
_EXAMPLE: Final = 'e.g. "p99<50ms", "rate>3000/s" or "errors==0"'


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold; ``value`` is in seconds (latency), events/s (rate) or a count."""

    text: str
    metric: str
    op: str
    value: float

    def check(self, actual: float) -> bool:
        """True when ``actual`` satisfies the threshold."""
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True)
class ThresholdResult:
    """A threshold and the measured value it was held to."""

    threshold: Threshold
    actual: float
    passed: bool

    def describe(self) -> str:
        """``p99<50ms: 12.3ms (pass)``."""
        verdict = "pass" if self.passed else "FAIL"
        return f"{self.threshold.text}: {format_metric(self.threshold.metric, self.actual)} " \
               f"({verdict})"


def format_metric(metric: str, value: float) -> str:
    """A measured value with the unit its metric is written in."""
    if metric in LATENCY_METRICS:
        return f"{value * 1000:.2f}ms"
    if metric == "rate":
        return f"{value:.1f}/s"
    return f"{value:g}"


def parse_threshold(text: str) -> Threshold:
    """Parse one threshold. Raises ``ConfigError`` quoting it and saying what is wrong."""
    quoted = f'--threshold "{text}"'
    match = _PATTERN.match(text.lower())
    if match is None:
        raise ConfigError(f"{quoted}: expected <metric><op><number>[unit], {_EXAMPLE}")
    metric, op = match["metric"], match["op"]
    number, unit = float(match["number"]), match["unit"]
    if metric not in METRICS:
        raise ConfigError(
            f"{quoted}: unknown metric {metric!r}; known metrics: {', '.join(METRICS)}"
        )
    if metric in LATENCY_METRICS:
        if unit not in _TIME_UNITS:
            raise ConfigError(
                f"{quoted}: {metric} is a duration and needs a unit: us, ms or s "
                f"(e.g. \"{metric}{op}{match['number']}ms\"), got {unit or 'none'!r}"
            )
        return Threshold(text.strip(), metric, op, number * _TIME_UNITS[unit])
    if metric == "rate":
        if unit not in ("", "/s"):
            raise ConfigError(f"{quoted}: rate is in events per second: write "
                              f"\"rate{op}{match['number']}/s\", got unit {unit!r}")
        return Threshold(text.strip(), metric, op, number)
    if unit:
        raise ConfigError(f"{quoted}: {metric} is a count and takes no unit, got {unit!r}")
    return Threshold(text.strip(), metric, op, number)


def parse_thresholds(texts: Sequence[str]) -> tuple[Threshold, ...]:
    """Parse every threshold (the first bad one raises ``ConfigError``)."""
    return tuple(parse_threshold(text) for text in texts)


def evaluate(thresholds: Sequence[Threshold],
             metrics: Mapping[str, float]) -> tuple[ThresholdResult, ...]:
    """Hold each threshold to ``metrics[threshold.metric]`` (a missing metric counts 0)."""
    return tuple(
        ThresholdResult(t, metrics.get(t.metric, 0.0), t.check(metrics.get(t.metric, 0.0)))
        for t in thresholds
    )

