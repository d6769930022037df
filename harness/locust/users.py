"""Gadget users for Locust: each user is one simulated drone with its IDE (docs/locust.md).

    locust -f harness/locust/locustfile.py --host http://RELAY --headless -u 50 -r 10 -t 1m \\
        --gadget-mongo-uri mongodb://... --gadget-database gadget

Who does what in a run:

- the **master** (or the only process, without ``--master``) seeds the pairs, tagged with
  run ids it keeps, hands them to the workers as their users start, sums what the workers'
  checkers report, notes a worker that goes missing with the pairs it held, and at the end
  removes every run it seeded (a dead worker's included) and fails the run (exit 1) on a
  violation or a lost worker;
- each process that runs users starts one agent (``harness.locust.agent``) that drives its
  users' pairs and checks exactly-once, order and isolation for them; a user's ``on_start``
  sets its pair up, each task is one work order, ``on_stop`` closes it.

Every ack, delivered event and work order is a Locust request: ``ack`` (name: the IDE's
request), ``event`` (name: the event; response time: drone emit to IDE receipt; length:
bytes of text), ``workOrder`` (submit to ``workOrderComplete``), ``connect``, ``error``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys
import uuid
from typing import Any

import gevent
from gevent import subprocess
from gevent.lock import Semaphore
from gevent.queue import Empty, Queue
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

from harness.load.config import Pair, pairs_of
from harness.locust.bridge import AgentDied, AgentProcess, Ledger
from harness.locust.wire import pair_from_dict, pair_to_dict
from seed import world_from_json

__all__ = ["ChurningIde", "CrashingDrone", "DroneWithIde", "GadgetUser", "WatchingIde"]

log = logging.getLogger("gadget")

PAIR_WAIT = 120.0  # seconds a starting user waits for its pair (the master seeds on demand)
CALL_WAIT = 300.0  # seconds a user waits for its agent's answer
DRAIN_WAIT = 120.0  # seconds the master waits for the workers' final ledgers


def _options(parser: Any) -> None:
    group = parser.add_argument_group("Gadget Harness",
                                      "the relay is --host; its database is seeded here")
    group.add_argument("--gadget-mongo-uri", default="mongodb://127.0.0.1:27017",
                       help="MongoDB the relay uses (the master seeds and cleans up there)")
    group.add_argument("--gadget-database", default="gadget", help="its database")
    group.add_argument("--gadget-events-per-prompt", type=int, default=20,
                       help="stream events per work order")
    group.add_argument("--gadget-rate", type=float, default=10.0,
                       help="events/s per drone while streaming (0: a burst)")
    group.add_argument("--gadget-text-size", type=int, default=64,
                       help="bytes of text per stream event")
    group.add_argument("--gadget-ack-timeout", type=float, default=10.0,
                       help="seconds an IDE waits for an ack")
    group.add_argument("--gadget-completion-timeout", type=float, default=30.0,
                       help="seconds past its stream's duration a work order may take")
    group.add_argument("--gadget-transport", choices=("websocket", "polling"),
                       default="websocket", help="the clients' engine.io transport")
    group.add_argument("--gadget-keep-world", action="store_true",
                       help="do not remove the seeded runs at the end")


def _agent_config(options: Any) -> dict[str, Any]:
    return {"events_per_prompt": options.gadget_events_per_prompt,
            "rate": options.gadget_rate, "text_size": options.gadget_text_size,
            "ack_timeout": options.gadget_ack_timeout,
            "completion_timeout": options.gadget_completion_timeout,
            "transport": options.gadget_transport}


def _harness(*args: str) -> str:
    """Run ``python -m harness ARGS`` (the interpreter Locust runs on); its stdout."""
    done = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"harness {args[0]} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-300:]}")
    return str(done.stdout)


class Pool:
    """The master's pairs: seeded on demand, a run id per batch, all removed at the end."""

    def __init__(self, options: Any) -> None:
        self._uri, self._database = options.gadget_mongo_uri, options.gadget_database
        self._expected = max(int(getattr(options, "num_users", 0) or 0), 1)
        self._free: dict[int, list[list[Pair]]] = {}  # pairs per group -> free groups
        self._next_index = 0
        self._handed = 0  # groups handed out
        self.run_ids: list[str] = []
        self.held: dict[str, int] = {}  # worker id -> pairs handed to it
        self._seeding = Semaphore()

    def prepare(self, size: int) -> None:
        """Seed as many groups of ``size`` pairs as the run's users (``-u``), if none are
        free yet."""
        with self._seeding:
            if not self._free.get(size):
                self._seed(self._expected, size)

    def take(self, count: int, size: int, worker: str) -> list[list[Pair]]:
        """``count`` groups of ``size`` pairs (one seeded user's each) for ``worker``,
        seeding a batch when the pool runs short."""
        with self._seeding:
            free = self._free.setdefault(size, [])
            if len(free) < count:
                self._seed(max(count, self._expected - self._handed, 10), size)
            taken, self._free[size] = free[:count], free[count:]
            self._handed += len(taken)
        self.held[worker] = self.held.get(worker, 0) + sum(len(g) for g in taken)
        return taken

    def _seed(self, users: int, size: int) -> None:
        out = _harness("seed", "--mongo-uri", self._uri, "--database", self._database,
                       "--users", str(users), "--drones", str(size), "--chat-sessions",
                       str(size), "--projects", "1", "--providers", "1", "--log-level",
                       "warning")
        world = world_from_json(out, source="harness seed")
        self.run_ids.append(world.run_id)
        pairs = pairs_of(world, users * size, size)
        free = self._free.setdefault(size, [])
        for start in range(0, len(pairs), size):
            group = []
            for pair in pairs[start:start + size]:
                group.append(dataclasses.replace(pair, index=self._next_index))
                self._next_index += 1
            free.append(group)
        log.info("gadget: seeded %d pairs (run %s)", users * size, world.run_id)

    def cleanup(self) -> int:
        """Remove every run seeded here; the number of documents removed."""
        removed = 0
        for run_id in self.run_ids:
            out = _harness("seed", "cleanup", run_id, "--mongo-uri", self._uri,
                           "--database", self._database, "--json")
            removed += sum(int(n) for n in _deleted(out).values())
        return removed


def _deleted(report_json: str) -> dict[str, Any]:
    report = json.loads(report_json)
    deleted = report.get("deleted", {}) if isinstance(report, dict) else {}
    return deleted if isinstance(deleted, dict) else {}


class Gadget:
    """This process's part of the run (see the module's docstring)."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.ledger = Ledger()  # the run's sum (master or local)
        self.pool: Pool | None = None
        self.agent: AgentProcess | None = None
        self._starting = Semaphore()  # one agent, however many users start at once
        self._waiting: dict[int, Queue[list[Pair]]] = {}  # group size -> groups (worker)
        runner = environment.runner
        self.is_master = isinstance(runner, MasterRunner)
        self.is_worker = isinstance(runner, WorkerRunner)
        self._finals: set[str] = set()  # workers whose final ledger came (master)
        if self.is_master:
            runner.register_message("gadget_want", self._on_want)
            runner.register_message("gadget_final", self._on_final)
            environment.events.worker_report.add_listener(self._on_worker_report)
            environment.events.test_stopping.add_listener(self._drain_workers)
            gevent.spawn(self._watch_workers)
        if self.is_worker:
            runner.register_message("gadget_pairs", self._on_pairs)
            runner.register_message("gadget_drain", self._on_drain, concurrent=True)
            environment.events.report_to_master.add_listener(self._on_report_to_master)
        else:
            environment.events.test_start.add_listener(self._on_test_start)
        if not self.is_master:
            # Users stopped: the agent settles its checker now, so that what it finds at the
            # end is in the worker's last report to the master (sent right after this).
            environment.events.test_stop.add_listener(lambda **_: self._close_agent())

    def _on_test_start(self, environment: Any, **_: Any) -> None:
        """Seed the pairs the run asks for before its users start (more come on demand)."""
        for size in sorted({getattr(c, "chat_sessions", 1) for c in environment.user_classes}):
            self._master_pool().prepare(size)

    # --- pairs -------------------------------------------------------------------------
    def pairs(self, size: int) -> list[Pair]:
        """A starting user's pairs: ``size`` of one seeded user."""
        if self.is_worker:
            self.environment.runner.send_message("gadget_want", {"n": 1, "size": size})
            try:
                group: list[Pair] = self._groups(size).get(timeout=PAIR_WAIT)
                return group
            except Empty:
                raise RuntimeError("no pairs from the master within "
                                   f"{PAIR_WAIT:g} s") from None
        return self._master_pool().take(1, size, "local")[0]

    def _groups(self, size: int) -> Queue[list[Pair]]:
        return self._waiting.setdefault(size, Queue())

    def _master_pool(self) -> Pool:
        if self.pool is None:
            self.pool = Pool(self.environment.parsed_options)
        return self.pool

    def _on_want(self, environment: Any, msg: Any, **_: Any) -> None:
        size = int(msg.data.get("size", 1))
        groups = self._master_pool().take(int(msg.data.get("n", 1)), size, msg.node_id)
        environment.runner.send_message(
            "gadget_pairs", {"size": size, "groups": [[pair_to_dict(p) for p in g]
                                                      for g in groups]},
            client_id=msg.node_id)

    def _on_pairs(self, environment: Any, msg: Any, **_: Any) -> None:
        queue = self._groups(int(msg.data.get("size", 1)))
        for group in msg.data.get("groups", []):
            queue.put([pair_from_dict(data, "gadget_pairs") for data in group])

    # --- the agent ---------------------------------------------------------------------
    def the_agent(self) -> AgentProcess:
        """This process's agent, started with its first user."""
        with self._starting:
            if self.agent is None:
                options = self.environment.parsed_options
                self.agent = AgentProcess(self.environment.events, self.environment.host,
                                          _agent_config(options))
        return self.agent

    # --- reports -------------------------------------------------------------------------
    def _on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if self.agent is not None:
            self.ledger.add(self.agent.ledger.take())
        data["gadget"] = self.ledger.take()

    def _close_agent(self) -> None:
        with self._starting:
            agent, self.agent = self.agent, None
        if agent is not None:
            agent.close()
            self.ledger.add(agent.ledger.take())

    def _on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if "gadget" in data:
            self.ledger.add(data["gadget"])

    def _drain_workers(self, environment: Any, **_: Any) -> None:
        """The run stops: every live worker stops its users, settles its checker and sends
        its final ledger, before Locust's quit (which waits only 0.5 s for final reports)."""
        runner = environment.runner
        live = [c.id for c in runner.clients.all if c.state != "missing"]
        self._finals.clear()
        for worker in live:
            runner.send_message("gadget_drain", {}, client_id=worker)
        deadline = DRAIN_WAIT
        while deadline > 0 and not set(live) <= self._finals | set(self.ledger.lost_workers):
            gevent.sleep(0.1)
            deadline -= 0.1
        late = set(live) - self._finals - set(self.ledger.lost_workers)
        if late:
            log.error("gadget: no final report from worker(s) %s within %g s: their last "
                      "invariant checks are missing", ", ".join(sorted(late)), DRAIN_WAIT)
            self.ledger.lost_workers.update(
                {w: self.pool.held.get(w, 0) if self.pool else 0 for w in late})

    def _on_drain(self, environment: Any, msg: Any, **_: Any) -> None:
        environment.runner.stop()  # users' on_stop, then test_stop closes the agent
        self._close_agent()
        environment.runner.send_message("gadget_final", self.ledger.take())

    def _on_final(self, environment: Any, msg: Any, **_: Any) -> None:
        self.ledger.add(msg.data or {})
        self._finals.add(msg.node_id)

    def _watch_workers(self) -> None:
        while True:
            gevent.sleep(1.0)
            for worker in self.environment.runner.clients.missing:
                if worker.id not in self.ledger.lost_workers:
                    held = self.pool.held.get(worker.id, 0) if self.pool else 0
                    self.ledger.lost_workers[worker.id] = held
                    log.error("gadget: worker %s went missing with %d pair(s): their "
                              "invariants were not checked to the end", worker.id, held)

    # --- the end -------------------------------------------------------------------------
    def finish(self) -> None:
        """Close this process's agent; on the master (or alone), sum up, judge, clean up."""
        self._close_agent()
        if self.is_worker:
            return
        ledger = self.ledger
        if self.pool is not None:
            log.info("gadget: pairs per process: %s", ", ".join(
                f"{worker} {n}" for worker, n in sorted(self.pool.held.items())))
        log.info("gadget: %d events delivered to IDEs, %d cut short by a crash or a leaving "
                 "IDE", ledger.delivered, ledger.cut_short)
        if ledger.violations:
            log.error("gadget: INVARIANT VIOLATIONS: %s", ", ".join(
                f"{kind} x{n}" for kind, n in sorted(ledger.violations.items())))
            for sample in ledger.samples:
                log.error("gadget:   %s", sample)
        else:
            log.info("gadget: invariants (exactly-once, order, isolation): no violation")
        if ledger.violations or ledger.lost_workers:
            self.environment.process_exit_code = 1
        if self.pool is not None and not self.environment.parsed_options.gadget_keep_world:
            removed = self.pool.cleanup()
            log.info("gadget: removed %d document(s) of run(s) %s", removed,
                     ", ".join(self.pool.run_ids))


_GADGET: dict[int, Gadget] = {}


def gadget_of(environment: Any) -> Gadget:
    """The ``Gadget`` of ``environment`` (made at Locust's init)."""
    return _GADGET[id(environment)]


def _on_init(environment: Any, **_: Any) -> None:
    _GADGET[id(environment)] = Gadget(environment)


def _on_quitting(environment: Any, **_: Any) -> None:
    gadget = _GADGET.get(id(environment))
    if gadget is not None:
        gadget.finish()


_hooks: Any = events  # Locust's event hooks are untyped
_hooks.init_command_line_parser.add_listener(_options)
_hooks.init.add_listener(_on_init)
_hooks.quitting.add_listener(_on_quitting)


class GadgetUser(User):
    """One simulated drone and its IDE: set up at start, a work order per task."""

    abstract = True
    wait_time = constant(0)  # prompts back to back, as harness load's pairs do
    crash_rate = 0.0  # the fraction of work orders during which the drone crashes
    ide_churn = 0.0  # the fraction of prompts before which the IDE leaves and comes back
    chat_sessions = 1  # pairs (chat session, drone) of one seeded user
    watcher = False  # and one more IDE of that user on all their chat sessions

    def on_start(self) -> None:
        gadget = gadget_of(self.environment)
        self._agent = gadget.the_agent()
        self._name = uuid.uuid4().hex
        pairs = gadget.pairs(self.chat_sessions)
        self._agent.call("start", timeout=CALL_WAIT, user=self._name,
                         pairs=[pair_to_dict(p) for p in pairs], watcher=self.watcher,
                         crash_rate=self.crash_rate, ide_churn=self.ide_churn)

    @task
    def work_order(self) -> None:
        """One prompt, its stream and its completion (the agent times and reports it)."""
        answer = self._agent.call("prompt", timeout=CALL_WAIT, user=self._name)
        if not answer.get("ok") and answer.get("outcome") == "setup-failed":
            gevent.sleep(1.0)  # the relay refused the set-up: not at once again

    def on_stop(self) -> None:
        with contextlib.suppress(AgentDied):  # the run is ending without it
            self._agent.call("stop", timeout=CALL_WAIT, user=self._name)


class DroneWithIde(GadgetUser):
    """A drone and its IDE, a work order after another."""


class ChurningIde(GadgetUser):
    """Its IDE leaves and comes back (reopening its chat session) before every prompt."""

    ide_churn = 1.0


class WatchingIde(GadgetUser):
    """Three chat sessions of one user, each with its drone and its IDE, and one more IDE of
    that user watching all three: every task is a work order on each drone at once, and the
    watcher is owed every event of every one of them."""

    chat_sessions = 3
    watcher = True


class CrashingDrone(GadgetUser):
    """Its drone crashes during one work order in five, comes back and is locked again."""

    crash_rate = 0.2
