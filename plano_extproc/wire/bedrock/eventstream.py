"""The AWS event-stream framing (`application/vnd.amazon.eventstream`), read incrementally.

Each message is, all integers big-endian:

    total length u32 | headers length u32 | CRC32 of those 8 bytes u32
    headers (headers length bytes) | payload | CRC32 of everything before it u32

and each header is: name length u8, name (UTF-8), value type u8, then the value. Both CRCs are
checked. A message is at most `max_message_bytes`; a prelude declaring more is refused as soon
as it arrives, so the decoder never holds more than one incomplete message (plus the chunk
being read). Anything that cannot be a valid message raises TranslationError, as do bytes left
over when the input ends (a truncated message).
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from plano_extproc.wire.errors import TranslationError

PRELUDE_BYTES = 12
_CRC_BYTES = 4
# The smallest message: a prelude and a message CRC, with no headers and no payload.
MIN_MESSAGE_BYTES = PRELUDE_BYTES + _CRC_BYTES
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_PRELUDE = struct.Struct(">III")

HeaderValue = bool | int | bytes | str | uuid.UUID


@dataclass(frozen=True, slots=True)
class EventStreamMessage:
    """One message. A timestamp header reads as its milliseconds since the Unix epoch."""

    headers: Mapping[str, HeaderValue]
    payload: bytes

    def header(self, name: str) -> str:
        """A string header's value; "" when absent or not a string."""
        value = self.headers.get(name)
        return value if isinstance(value, str) else ""


class EventStreamDecoder:
    def __init__(self, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._max_message_bytes = max_message_bytes
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[EventStreamMessage]:
        """The messages `chunk` completes, one at a time: those before a corrupt message are
        yielded before the TranslationError for it is raised."""
        self._buffer += chunk
        return self._messages()

    def close(self) -> None:
        """End of input: TranslationError when a message was left incomplete."""
        if self._buffer:
            raise TranslationError(
                f"the upstream event stream ended inside a message ({len(self._buffer)} bytes)"
            )

    def _messages(self) -> Iterator[EventStreamMessage]:
        while (message := self._next_message()) is not None:
            yield message

    def _next_message(self) -> EventStreamMessage | None:
        if len(self._buffer) < PRELUDE_BYTES:
            return None
        total, headers_length = self._prelude()
        if len(self._buffer) < total:
            return None
        frame = bytes(self._buffer[:total])
        del self._buffer[:total]
        body, (declared,) = frame[:-_CRC_BYTES], struct.unpack(">I", frame[-_CRC_BYTES:])
        if zlib.crc32(body) != declared:
            raise TranslationError("an upstream event-stream message fails its CRC check")
        headers_end = PRELUDE_BYTES + headers_length
        return EventStreamMessage(read_headers(body[PRELUDE_BYTES:headers_end]), body[headers_end:])

    def _prelude(self) -> tuple[int, int]:
        total, headers_length, declared = _PRELUDE.unpack_from(self._buffer)
        if zlib.crc32(self._buffer[:8]) != declared:
            raise TranslationError("an upstream event-stream prelude fails its CRC check")
        if not MIN_MESSAGE_BYTES <= total <= self._max_message_bytes:
            raise TranslationError(
                f"an upstream event-stream message declares {total} bytes"
                f" (from {MIN_MESSAGE_BYTES} to {self._max_message_bytes} are accepted)"
            )
        if headers_length > total - MIN_MESSAGE_BYTES:
            raise TranslationError(
                f"an upstream event-stream message declares {headers_length} bytes of headers"
                f" in {total} bytes"
            )
        return total, headers_length


def read_headers(raw: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    reader = _Reader(raw)
    while not reader.done:
        name = reader.take(reader.unsigned(1)).decode("utf-8", errors="replace")
        kind = reader.unsigned(1)
        value_reader = _VALUE_READERS.get(kind)
        if value_reader is None:
            raise TranslationError(f"an upstream event-stream header has unknown type {kind}")
        headers[name] = value_reader(reader)
    return headers


class _Reader:
    """Reads a message's headers in order; TranslationError past their end."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._at = 0

    @property
    def done(self) -> bool:
        return self._at >= len(self._raw)

    def take(self, count: int) -> bytes:
        end = self._at + count
        if end > len(self._raw):
            raise TranslationError("an upstream event-stream header runs past its message")
        piece, self._at = self._raw[self._at : end], end
        return piece

    def unsigned(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def signed(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big", signed=True)

    def sized(self) -> bytes:
        """A value preceded by its u16 length (byte arrays and strings)."""
        return self.take(self.unsigned(2))


_VALUE_READERS: dict[int, Callable[[_Reader], HeaderValue]] = {
    0: lambda _: True,
    1: lambda _: False,
    2: lambda reader: reader.signed(1),
    3: lambda reader: reader.signed(2),
    4: lambda reader: reader.signed(4),
    5: lambda reader: reader.signed(8),
    6: lambda reader: reader.sized(),
    7: lambda reader: reader.sized().decode("utf-8", errors="replace"),
    8: lambda reader: reader.signed(8),  # a timestamp, in milliseconds
    9: lambda reader: uuid.UUID(bytes=reader.take(16)),
}
