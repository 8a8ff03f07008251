"""An AWS event-stream encoder for tests: the frames a Bedrock ConverseStream answer is made of.

Independent of the gateway's decoder, and checked against botocore's own parser, so that the
two cannot share a mistake.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"


@dataclass(frozen=True, slots=True)
class Typed:
    """A header value of an explicit type: 2 byte, 3 short, 4 int, 5 long, 8 timestamp (ms)."""

    kind: int
    value: int


_INTEGER_SIZES = {2: 1, 3: 2, 4: 4, 5: 8, 8: 8}


def encode_header(name: str, value: object) -> bytes:
    """Strings, bools, bytes, UUIDs and `Typed` integers; a plain int is a long."""
    head = bytes([len(name.encode())]) + name.encode()
    if isinstance(value, bool):
        return head + bytes([0 if value else 1])
    if isinstance(value, int):
        value = Typed(5, value)
    if isinstance(value, Typed):
        size = _INTEGER_SIZES[value.kind]
        return head + bytes([value.kind]) + value.value.to_bytes(size, "big", signed=True)
    if isinstance(value, bytes):
        return head + bytes([6]) + struct.pack(">H", len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return head + bytes([7]) + struct.pack(">H", len(raw)) + raw
    if isinstance(value, uuid.UUID):
        return head + bytes([9]) + value.bytes
    raise TypeError(f"no event-stream header type for {value!r}")


def encode_message(headers: Mapping[str, object], payload: bytes) -> bytes:
    encoded_headers = b"".join(encode_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event_message(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """A ConverseStream event, as Bedrock frames it."""
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, json.dumps(payload).encode())


def exception_message(exception_type: str, message: str) -> bytes:
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode())
