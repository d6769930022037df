"""The reference relay: the Gadget relay protocol v1.1 on python-socketio, aiohttp and pymongo.

Where the contract allows more than one answer (section 11, and sections 4 and 10) the relay
gives the reference answer; each ``--variant NAME`` (``harness.settings.VARIANTS``) switches
it to the other, so that the pack can be shown to accept both. ``variants.py`` says where
each variant acts.

    registry.py        live sessions by socket id and by business id (no I/O)
    validation.py      payload checks per event (pure), with the ``Rules`` variants pick
    variants.py        the outgoing shapes and words (``Dialect``) per variant (pure)
    store.py           every database operation; ObjectId <-> hex at this boundary
    auth.py            connect auth and bearer tokens (sha256 + compare_digest)
    context.py         what handlers share; notifying IDEs; asking a drone; acks
    inbox.py           the per-drone sequential worker that keeps stream order
    lifecycle.py       connect / disconnect, newest-connection-wins handover
    ide_handlers.py    IDE -> relay events
    drone_handlers.py  drone -> relay events
    termination.py     the HTTP termination flow
    http_api.py        HTTP routes and introspection
    cors.py            which browser origins may call it (Socket.IO and HTTP)
    malformed.py       input that is not the protocol: closed or refused in one log line
    jsoncodec.py       Socket.IO packets' JSON: orjson, with the standard library's answers
    stopping.py        a stopping relay opens no new connection
    app.py             ``Relay``: build, start, stop
    serving.py         ``serve``: run until SIGINT/SIGTERM (``harness.commands.relay``)
"""

from harness.relay.app import Relay
from harness.relay.registry import CodeSession, DroneSession, SessionRegistry
from harness.relay.serving import serve

__all__ = ["CodeSession", "DroneSession", "Relay", "SessionRegistry", "serve"]
