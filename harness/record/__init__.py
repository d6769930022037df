"""``harness record``: a recording reverse proxy between real Socket.IO clients and a relay,
writing what passes as a harness trace (docs/record.md).

    redact.py    secrets to per-recording fingerprints; --payloads full|truncate|hash
    journal.py   actor names, message numbering, the trace file and its header
    decode.py    Engine.IO / Socket.IO packets of one session -> history messages (pure)
    forward.py   header rules of a reverse proxy, the websocket pump
    recorder.py  ``Recorder``: the aiohttp proxy that ties them together
"""

from harness.record.decode import EngineSession, decode_payload
from harness.record.journal import Journal, RecordingInfo, rewrite_header
from harness.record.recorder import Recorder, check_upstream
from harness.record.redact import PAYLOAD_MODES, PayloadMode, Redactor, Shaper

__all__ = ["PAYLOAD_MODES", "EngineSession", "Journal", "PayloadMode", "Recorder",
           "RecordingInfo", "Redactor", "Shaper", "check_upstream", "decode_payload",
           "rewrite_header"]
