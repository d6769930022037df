"""A MongoDB wire-protocol stand-in: an asyncio server that pymongo and the Node driver reach
over TCP, with mongomock providing query and update semantics. Used where no ``mongod`` exists.

    async with serve() as server:          # port 0: a free port
        client = AsyncMongoClient(server.uri)
"""

from __future__ import annotations

from harness.mongowire.server import StandInServer, serve

__all__ = ["StandInServer", "serve"]
