"""A ConverseStream answer's AWS event-stream messages → the events its decoder reads.

An event message becomes `SseEvent(<:event-type>, <payload>)`. An exception message becomes
`SseEvent("exception:<:exception-type>", <payload>)`, and an error message (`:error-code`,
`:error-message`, no payload) `SseEvent("error:<:error-code>", {"message": ...})`: the prefix
keeps failures apart from events, whose names never hold a colon.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from plano_extproc.wire.bedrock.eventstream import EventStreamDecoder, EventStreamMessage
from plano_extproc.wire.sse import SseEvent

STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
EXCEPTION_PREFIX = "exception:"
ERROR_PREFIX = "error:"


class ConverseFraming:
    def __init__(self) -> None:
        self._decoder = EventStreamDecoder()

    def feed(self, chunk: bytes) -> Iterator[SseEvent]:
        return (_event(message) for message in self._decoder.feed(chunk))

    def close(self) -> list[SseEvent]:
        self._decoder.close()
        return []


def _event(message: EventStreamMessage) -> SseEvent:
    payload = message.payload.decode("utf-8", errors="replace")
    match message.header(":message-type"):
        case "exception":
            return SseEvent(EXCEPTION_PREFIX + message.header(":exception-type"), payload)
        case "error":
            error = orjson.dumps({"message": message.header(":error-message")})
            return SseEvent(ERROR_PREFIX + message.header(":error-code"), error.decode())
        case _:
            return SseEvent(message.header(":event-type"), payload)
