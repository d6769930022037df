"""``harness compare --load PROFILE``: the same ``harness load`` run against both sides.

The profile is ``KEY=VALUE,...`` with ``harness load``'s options (``drones=20,rate=5,
duration=10``). Each side gets its own seeded world per run (removed afterwards: only what
that run seeded), the same configuration and the same ``seed`` for the clients' choices.
Compared: violations of the invariants (exactly once, order, isolation), errors by kind
(ack timeouts, refusals), delivered events per second, and delivery p50/p95/p99 per event
type, with the same threshold, noise and floor as the pack's latency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from harness.compare.build import spread
from harness.compare.model import Difference
from harness.env.base import Environment
from harness.errors import ConfigError
from harness.load.config import LoadConfig
from harness.load.runner import LoadResult, run_load, seed_world
from harness.protocol import FORWARDED_DRONE_EVENTS
from seed import cleanup
from seed.connect import open_database

_KEYS: Final[dict[str, tuple[str, type]]] = {
    "drones": ("drones", int), "drones-per-user": ("drones_per_user", int),
    "workers": ("workers", int), "ramp-up": ("ramp_up", float),
    "duration": ("duration", float), "rate": ("rate", float),
    "events-per-prompt": ("events_per_prompt", int), "text-size": ("text_size", int),
    "crash-rate": ("crash_rate", float), "ide-churn": ("ide_churn", float),
    "transport": ("transport", str), "random-seed": ("random_seed", int),
}
LOAD_DEFAULTS: Final = {"drones": 10, "drones_per_user": 5, "rate": 5.0, "duration": 10.0,
                        "random_seed": 1}
ERROR_SLACK: Final = 5  # errors a side may have more than the other's worst run: noise


def parse_load(text: str, flag: str = "--load") -> LoadConfig:
    """A ``LoadConfig`` from ``KEY=VALUE,...``; raises ``ConfigError`` naming the key."""
    values: dict[str, Any] = dict(LOAD_DEFAULTS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        if not sep or key not in _KEYS:
            raise ConfigError(f"{flag} {text!r}: {part!r} is not KEY=VALUE with a key of "
                              f"{', '.join(_KEYS)}")
        name, kind = _KEYS[key]
        try:
            values[name] = kind(raw)
        except ValueError:
            raise ConfigError(f"{flag} {text!r}: {key}={raw!r} is not "
                              f"{'an integer' if kind is int else 'a number'}") from None
    try:
        return LoadConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{flag} {text!r}: {exc}") from None


async def run_load_on(env: Environment, config: LoadConfig) -> LoadResult:
    """One load run against a started ``env`` in a world seeded for it, always removed."""
    async with open_database(env.mongo_uri, env.database) as db:
        world = await seed_world(db, config)
        try:
            return await run_load(config, env.relay_url, world)
        finally:
            await cleanup(db, world.run_id)


@dataclass(frozen=True)
class LoadSide:
    """One side's load runs, summarised."""

    rates: tuple[float, ...]
    p99: Mapping[str, tuple[float, ...]]  # event -> each run's p99 (s)
    p50: Mapping[str, float]  # event -> median over runs of p50 (s)
    violations: Mapping[str, tuple[int, ...]]  # kind -> each run's count
    errors: Mapping[str, tuple[int, ...]]
    failures: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"eventsPerSecond": list(self.rates),
                "p99ByRun": {k: list(v) for k, v in self.p99.items()},
                "p50": dict(self.p50), "violations": {k: list(v) for k, v in
                                                       self.violations.items()},
                "errors": {k: list(v) for k, v in self.errors.items()},
                "workerFailures": list(self.failures)}


def summarise(results: Sequence[LoadResult]) -> LoadSide:
    """The figures of one side's runs."""
    def per_run(counters: list[Mapping[str, int]]) -> dict[str, tuple[int, ...]]:
        kinds = sorted({k for c in counters for k in c})
        return {k: tuple(c.get(k, 0) for c in counters) for k in kinds}

    p99: dict[str, tuple[float, ...]] = {}
    p50: dict[str, float] = {}
    for event in FORWARDED_DRONE_EVENTS:
        histograms = [r.aggregate.latency.get(event) for r in results]
        if not any(h is not None and h.count for h in histograms):
            continue
        p99[event] = tuple(h.percentile(99) if h else 0.0 for h in histograms)
        fifties = sorted(h.percentile(50) if h else 0.0 for h in histograms)
        p50[event] = fifties[len(fifties) // 2]
    return LoadSide(tuple(r.aggregate.steady_rate()[0] for r in results), p99, p50,
                    per_run([r.aggregate.violations for r in results]),
                    per_run([r.aggregate.errors for r in results]),
                    tuple(f for r in results for f in r.worker_failures))


@dataclass
class LoadComparison:
    """Both sides' load figures and what regressed."""

    profile: str
    baseline: LoadSide
    candidate: LoadSide
    differences: list[Difference] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"profile": self.profile, "baseline": self.baseline.to_json(),
                "candidate": self.candidate.to_json(),
                "differences": [d.to_json() for d in self.differences]}


def compare_loads(profile: str, base: LoadSide, cand: LoadSide, max_regression: float,
                  min_delta: float) -> LoadComparison:
    """What regressed under load: a violation kind the candidate shows in every run and the
    baseline in none, an error kind above the baseline's worst run (by more than
    ``ERROR_SLACK``), a worker that died, a p99 past the threshold, the noise and the
    floor."""
    out = LoadComparison(profile, base, cand)

    def add(summary: str, event: str = "") -> None:
        out.differences.append(Difference("(load)", "load", "regression", summary,
                                          event=event))

    for kind, counts in cand.violations.items():
        if min(counts) > 0 and not any(base.violations.get(kind, ())):
            add(f"violations {kind}: {'/'.join(map(str, counts))} a run (baseline none)")
    for kind, counts in cand.errors.items():
        worst = max(base.errors.get(kind, (0,)))
        if min(counts) > worst + ERROR_SLACK:
            add(f"errors {kind}: {'/'.join(map(str, counts))} a run (baseline at most {worst})")
    if cand.failures and not base.failures:
        add(f"load workers failed: {'; '.join(cand.failures)}")
    for event, runs in cand.p99.items():
        before = base.p99.get(event)
        if not before:
            continue
        b, c = sorted(before)[len(before) // 2], sorted(runs)[len(runs) // 2]
        spreads = [s for s in (spread(before), spread(runs)) if s is not None]
        noise = max(spreads) if spreads else 0.0
        if b and c / b - 1 > max(max_regression, noise) and c - b > min_delta:
            add(f"{event} p99 under load {b * 1000:.1f} → {c * 1000:.1f} ms "
                f"(+{c / b - 1:.0%}; noise {noise:.0%})", event)
    return out
