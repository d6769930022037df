"""Gadget users for Locust (docs/locust.md).

Locust runs on gevent and monkey-patches the standard library; the simulated clients are
asyncio. The two never share a process: each Locust process that runs users starts one
*agent* (``python -m harness.locust.agent``), an ordinary asyncio process that drives its
users' pairs with the same ``PairDriver`` and ``StreamChecker`` as ``harness load``, and
talks to the Locust process over a pipe (JSON lines). Locust's side (``harness.locust.users``)
is thin: a user asks its agent to set its pair up, to run one work order per task, and to
close it; what the agent measures comes back as Locust request events.

    agent.py     the asyncio process (no gevent, no locust import)
    wire.py      the JSON-lines messages both sides read and write (pure)
    bridge.py    Locust's side of the pipe (gevent)
    users.py     the Locust user classes, the master's seeding, pool and cleanup
    locustfile.py  what ``locust -f`` loads: the user classes

Nothing outside this package imports ``bridge``, ``users`` or ``locustfile``: importing
them patches the importing process for gevent.
"""
