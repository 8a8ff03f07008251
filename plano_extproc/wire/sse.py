"""Server-sent events framing: bytes in arbitrary chunks ⇄ whole events.

Parsing follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; `data` lines of one
event are joined by newlines; a blank line dispatches; comment lines (`:`) and unknown fields
are ignored. Lines are decoded only once complete, so a multi-byte UTF-8 character split across
chunks arrives whole; bytes that are not UTF-8 become U+FFFD rather than an exception. One event
(its pending line and data together) may hold at most `max_event_bytes`; past that the parser
raises TranslationError rather than buffer without end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from plano_extproc.wire.errors import TranslationError

_LINE_END = re.compile(rb"\r\n|\r|\n")
MAX_EVENT_BYTES = 8 * 1024 * 1024
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched event; `event` is "" when the stream named none."""

    event: str
    data: str


class SseParser:
    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._max_event_bytes = MAX_EVENT_BYTES if max_event_bytes is None else max_event_bytes
        self._data_bytes = 0  # of the event being read
        self._line = bytearray()  # the current, unterminated line
        self._skip_lf = False  # the last chunk ended in CR: a leading LF completes that CRLF
        self._first_line = True
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SseEvent]:
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk.startswith(b"\n"):
                chunk = chunk[1:]
        if b"\n" not in chunk and b"\r" not in chunk:
            self._line += chunk
            self._check_size()
            return []
        self._line += chunk
        buffer = bytes(self._line)
        events: list[SseEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            self._take_line(buffer[start : match.start()], events)
            start = match.end()
        self._line = bytearray(buffer[start:])
        self._skip_lf = buffer.endswith(b"\r")
        self._check_size()
        return events

    def _check_size(self) -> None:
        if len(self._line) + self._data_bytes > self._max_event_bytes:
            raise TranslationError(
                f"an upstream event is larger than {self._max_event_bytes} bytes"
            )

    def close(self) -> list[SseEvent]:
        """End of input: an unterminated last line and event are dispatched, not lost."""
        events: list[SseEvent] = []
        if self._line:
            self._take_line(bytes(self._line), events)
            self._line.clear()
        self._take_line(b"", events)
        return events

    def _take_line(self, raw: bytes, events: list[SseEvent]) -> None:
        line = raw.decode("utf-8", errors="replace")
        if self._first_line:
            self._first_line = False
            line = line.removeprefix(_BOM)
        if not line:
            self._dispatch(events)
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
            self._data_bytes += len(raw)
        elif name == "event":
            self._event = value

    def _dispatch(self, events: list[SseEvent]) -> None:
        if self._data:
            events.append(SseEvent(self._event, "\n".join(self._data)))
        self._event = ""
        self._data = []
        self._data_bytes = 0


def sse_frame(data: bytes, event: str | None = None) -> bytes:
    """One event, ready to send; `data` must hold no newline (compact JSON never does)."""
    head = b"" if event is None else b"event: " + event.encode() + b"\n"
    return head + b"data: " + data + b"\n\n"
