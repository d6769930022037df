"""The reference relay: the Gadget relay protocol v1 on python-socketio, aiohttp and pymongo.

    registry.py        live sessions by socket id and by business id (no I/O)
    validation.py      payload checks per event (pure)
    store.py           every database operation; ObjectId <-> hex at this boundary
    auth.py            connect auth and bearer tokens (sha256 + compare_digest)
    context.py         what handlers share; notifying IDEs; asking a drone
    inbox.py           the per-drone sequential worker that keeps stream order
    lifecycle.py       connect / disconnect, newest-connection-wins handover
    ide_handlers.py    IDE -> relay events
    drone_handlers.py  drone -> relay events
    termination.py     the HTTP termination flow
    http_api.py        HTTP routes and introspection
    app.py             ``Relay``: build, start, stop
    cli.py             ``harness relay`` / ``python -m harness.relay``
"""

from harness.relay.app import Relay
from harness.relay.cli import relay_command, serve
from harness.relay.registry import CodeSession, DroneSession, SessionRegistry

__all__ = ["CodeSession", "DroneSession", "Relay", "SessionRegistry", "relay_command", "serve"]
