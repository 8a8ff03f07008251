"""The AWS event-stream decoder, against frames from the test encoder, which botocore's own parser
reads the same way."""

from __future__ import annotations

import random
import struct
import uuid
import zlib

import pytest
from botocore.eventstream import EventStreamBuffer

from plano_extproc.wire.bedrock.eventstream import (
    MAX_MESSAGE_BYTES,
    EventStreamDecoder,
    EventStreamMessage,
)
from plano_extproc.wire.errors import TranslationError
from tests.support.aws_eventstream import Typed, encode_message, event_message

EVERY_TYPE = {
    "yes": True,
    "no": False,
    "byte": Typed(2, -7),
    "short": Typed(3, 1234),
    "int": Typed(4, -70000),
    "long": 1 << 40,
    "bytes": b"\x00\xffraw",
    "string": "héllo",
    "timestamp": Typed(8, 1_700_000_000_123),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
}
EXPECTED_VALUES = {
    "yes": True,
    "no": False,
    "byte": -7,
    "short": 1234,
    "int": -70000,
    "long": 1 << 40,
    "bytes": b"\x00\xffraw",
    "string": "héllo",
    "timestamp": 1_700_000_000_123,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
}
MESSAGES = [
    event_message("messageStart", {"role": "assistant"}),
    encode_message(EVERY_TYPE, b'{"x": 1}'),
    encode_message({}, b""),
    event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "✓" * 300}}),
]
STREAM = b"".join(MESSAGES)


def botocore_messages(raw: bytes) -> list[tuple[dict[str, object], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    return [(message.headers, message.payload) for message in buffer]


def decode(chunks: list[bytes]) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    messages = [message for chunk in chunks for message in decoder.feed(chunk)]
    decoder.close()
    return messages


def test_botocore_reads_the_test_encoders_frames() -> None:
    read = botocore_messages(STREAM)

    assert len(read) == 4
    headers, payload = read[1]
    assert payload == b'{"x": 1}'
    # botocore reads a timestamp as a datetime and a UUID as its bytes.
    differently = {"timestamp", "uuid"}
    assert {name: value for name, value in headers.items() if name not in differently} == {
        name: value for name, value in EXPECTED_VALUES.items() if name not in differently
    }
    assert headers["uuid"] == EXPECTED_VALUES["uuid"].bytes  # type: ignore[union-attr]
    assert read[0][0][":event-type"] == "messageStart"


def test_every_header_type_is_read() -> None:
    [message] = decode([encode_message(EVERY_TYPE, b"payload")])

    assert dict(message.headers) == EXPECTED_VALUES
    assert message.payload == b"payload"
    assert message.header("string") == "héllo"
    assert message.header("long") == ""  # not a string
    assert message.header("absent") == ""


def test_decoder_agrees_with_botocore() -> None:
    ours = [(message.headers, message.payload) for message in decode([STREAM])]
    theirs = botocore_messages(STREAM)

    assert [payload for _, payload in ours] == [payload for _, payload in theirs]
    assert [headers[":event-type"] for headers, _ in ours if ":event-type" in headers] == [
        headers[":event-type"] for headers, _ in theirs if ":event-type" in headers
    ]


def test_byte_by_byte() -> None:
    chunks = [STREAM[index : index + 1] for index in range(len(STREAM))]

    assert [message.payload for message in decode(chunks)] == [
        payload for _, payload in botocore_messages(STREAM)
    ]


@pytest.mark.parametrize("seed", range(20))
def test_random_splits(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randint(1, 12)))
    bounds = zip([0, *cuts], [*cuts, len(STREAM)], strict=True)
    chunks = [STREAM[start:end] for start, end in bounds]

    assert [message.payload for message in decode(chunks)] == [
        payload for _, payload in botocore_messages(STREAM)
    ]


def test_messages_before_a_corrupt_one_are_read_first() -> None:
    corrupt = bytearray(MESSAGES[1])
    corrupt[-1] ^= 0xFF
    decoder = EventStreamDecoder()
    read = []

    with pytest.raises(TranslationError, match="CRC"):
        read.extend(decoder.feed(MESSAGES[0] + bytes(corrupt)))
    assert [message.header(":event-type") for message in read] == ["messageStart"]


def with_byte_flipped(raw: bytes, index: int) -> bytes:
    changed = bytearray(raw)
    changed[index] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (with_byte_flipped(MESSAGES[0], 9), "prelude fails its CRC"),
        (with_byte_flipped(MESSAGES[0], 3), "prelude fails its CRC"),  # the length itself
        (with_byte_flipped(MESSAGES[0], 20), "message fails its CRC"),
        (with_byte_flipped(MESSAGES[0], len(MESSAGES[0]) - 1), "message fails its CRC"),
    ],
)
def test_corrupt_frames_are_refused(raw: bytes, problem: str) -> None:
    with pytest.raises(TranslationError, match=problem):
        decode([raw])


def prelude(total: int, headers_length: int) -> bytes:
    head = struct.pack(">II", total, headers_length)
    return head + struct.pack(">I", zlib.crc32(head))


@pytest.mark.parametrize(
    ("total", "headers_length"),
    [(MAX_MESSAGE_BYTES + 1, 0), (0xFFFFFFFF, 0), (15, 0), (0, 0), (40, 30)],
)
def test_impossible_lengths_are_refused_from_the_prelude_alone(
    total: int, headers_length: int
) -> None:
    decoder = EventStreamDecoder()

    with pytest.raises(TranslationError, match="declares"):
        list(decoder.feed(prelude(total, headers_length)))


def test_a_smaller_limit_is_kept() -> None:
    decoder = EventStreamDecoder(max_message_bytes=64)

    with pytest.raises(TranslationError, match="declares"):
        list(decoder.feed(MESSAGES[3][:12]))


@pytest.mark.parametrize("cut", [1, 11, 12, 30, len(MESSAGES[0]) - 1])
def test_a_truncated_message_is_refused_at_close(cut: int) -> None:
    decoder = EventStreamDecoder()

    assert list(decoder.feed(MESSAGES[0][:cut])) == []
    with pytest.raises(TranslationError, match="ended inside a message"):
        decoder.close()


def test_headers_running_past_their_end_are_refused() -> None:
    header = bytes([4]) + b"name" + bytes([7]) + struct.pack(">H", 50) + b"short"
    with pytest.raises(TranslationError, match="runs past"):
        decode([frame_with_raw_headers(header)])


def test_an_unknown_header_type_is_refused() -> None:
    header = bytes([4]) + b"name" + bytes([10])
    with pytest.raises(TranslationError, match="unknown type 10"):
        decode([frame_with_raw_headers(header)])


def frame_with_raw_headers(headers: bytes) -> bytes:
    body = prelude(12 + len(headers) + 4, len(headers)) + headers
    return body + struct.pack(">I", zlib.crc32(body))
