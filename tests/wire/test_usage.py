"""The usage of an answer read as it passes by: JSON and streams of each API, split anywhere,
and every way an answer can report nothing."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from itertools import pairwise

import orjson
import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.extproc.translation import MAX_COLLECTED_BYTES
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.wire import Translation, Usage, UsageReader, usage_reader
from plano_extproc.wire.usage import MAX_JSON_BYTES
from tests.support.upstream_payloads import (
    Api,
    error_reply,
    json_body,
    stream_content_type,
    stream_frames,
)
from tests.wire.stream_support import MESSAGE_START
from tests.wire.support import (
    ANTHROPIC_TEXT_THEN_TOOL,
    CHAT_TEXT_THEN_TOOLS,
    anthropic_stream,
    chat_chunk,
    chat_stream,
)

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
PIECES = ("Héllo", " wörld ", "✓ done")
TEXT = "".join(PIECES)
PROMPT_BYTES = 400
# What the support streams report (Anthropic's cache reads count as input), and the text and
# tool arguments they carry.
CHAT_USAGE = Usage(20, 7, cached_tokens=4)
ANTHROPIC_USAGE = Usage(10 + 5, 12, cached_tokens=5)
CHAT_STREAMED = len("Let me check ✓" + '{"q":"x"}{"u":1}')
ANTHROPIC_STREAMED = len("Héllo ✓" + '{"q": "x"}')
# What the payloads report for PIECES and PROMPT_BYTES: bytes // 4 in, a token per piece out.
REPORTED = Usage(input_tokens=100, output_tokens=3)

# Each answer's API, as the reader is given it: the client's own for an untranslated request,
# Translation.upstream for a translated one (Bedrock is only ever an upstream).
READER_APIS = [
    (Api.CHAT, ClientApi.CHAT),
    (Api.CHAT, Translation.MESSAGES_TO_OPENAI.upstream),
    (Api.MESSAGES, ClientApi.MESSAGES),
    (Api.MESSAGES, Translation.CHAT_TO_ANTHROPIC.upstream),
    (Api.RESPONSES, ClientApi.RESPONSES),
    (Api.BEDROCK, Translation.RESPONSES_TO_BEDROCK.upstream),
]
# The payloads' chat stream has no usage chunk: the include_usage tests read chat streams.
STREAM_APIS = [(api, reader_api) for api, reader_api in READER_APIS if api is not Api.CHAT]
ALL_APIS = [*ClientApi, *ProviderApi]


def read(reader: UsageReader, chunks: list[bytes]) -> Usage | None:
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


def bytewise(raw: bytes) -> list[bytes]:
    return [raw[i : i + 1] for i in range(len(raw))]


def stream_of(api: Api) -> bytes:
    return b"".join(stream_frames(api, "r1", "m", PIECES, PROMPT_BYTES).all())


@pytest.mark.parametrize(("api", "reader_api"), READER_APIS)
def test_a_json_answer_reports_its_usage(api: Api, reader_api: ClientApi | ProviderApi) -> None:
    body = orjson.dumps(json_body(api, "r1", "m", PIECES, PROMPT_BYTES))
    reader = usage_reader(reader_api, stream=False, content_type=JSON)
    assert read(reader, [body[:7], body[7:]]) == REPORTED
    assert reader.streamed_text_chars == 0


@pytest.mark.parametrize(("api", "reader_api"), STREAM_APIS)
@pytest.mark.parametrize("split", [lambda raw: [raw], bytewise], ids=["whole", "bytewise"])
def test_a_stream_reports_its_usage_and_counts_its_text(
    api: Api, reader_api: ClientApi | ProviderApi, split: Callable[[bytes], list[bytes]]
) -> None:
    reader = usage_reader(reader_api, stream=True, content_type=stream_content_type(api))
    assert read(reader, split(stream_of(api))) == REPORTED
    assert reader.streamed_text_chars == len(TEXT)


def test_a_chat_stream_without_include_usage_reports_none_but_counts_its_text() -> None:
    reader = usage_reader(ClientApi.CHAT, stream=True, content_type=SSE)
    assert read(reader, [stream_of(Api.CHAT)]) is None
    assert reader.streamed_text_chars == len(TEXT)


def test_a_chat_stream_with_include_usage_reports_it_with_its_cached_tokens() -> None:
    reader = usage_reader(ProviderApi.OPENAI, stream=True, content_type=SSE)
    assert read(reader, bytewise(CHAT_TEXT_THEN_TOOLS)) == CHAT_USAGE
    assert reader.streamed_text_chars == CHAT_STREAMED


@pytest.mark.parametrize(
    ("raw", "reader_api", "usage", "chars"),
    [
        (CHAT_TEXT_THEN_TOOLS, ClientApi.CHAT, CHAT_USAGE, CHAT_STREAMED),
        (ANTHROPIC_TEXT_THEN_TOOL, ClientApi.MESSAGES, ANTHROPIC_USAGE, ANTHROPIC_STREAMED),
    ],
    ids=["chat", "messages"],
)
def test_a_chunk_split_inside_an_sse_line_and_a_utf8_character(
    raw: bytes, reader_api: ClientApi, usage: Usage, chars: int
) -> None:
    inside_check_mark = raw.index("✓".encode()) + 1
    inside_usage_line = raw.rindex(b"_tokens") + 3
    cuts = [0, inside_check_mark, inside_usage_line, len(raw)]
    reader = usage_reader(reader_api, stream=True, content_type=SSE)
    assert read(reader, [raw[start:end] for start, end in pairwise(cuts)]) == usage
    assert reader.streamed_text_chars == chars  # no character lost or replaced


def test_anthropic_cache_reads_and_writes_are_input_tokens() -> None:
    body = json_body(Api.MESSAGES, "r1", "m", PIECES, PROMPT_BYTES)
    body["usage"] |= {"cache_read_input_tokens": 60, "cache_creation_input_tokens": 20}
    reader = usage_reader(ClientApi.MESSAGES, stream=False, content_type=JSON)
    assert read(reader, [orjson.dumps(body)]) == Usage(180, 3, cached_tokens=60)


def test_an_anthropic_stream_joins_message_start_and_message_delta_counts() -> None:
    reader = usage_reader(ProviderApi.ANTHROPIC, stream=True, content_type=SSE)
    assert read(reader, [ANTHROPIC_TEXT_THEN_TOOL]) == ANTHROPIC_USAGE
    assert reader.streamed_text_chars == ANTHROPIC_STREAMED


def test_an_anthropic_stream_cut_short_reports_the_input_message_start_gave() -> None:
    reader = usage_reader(ClientApi.MESSAGES, stream=True, content_type=SSE)
    assert read(reader, [anthropic_stream(MESSAGE_START)]) == Usage(input_tokens=3)


def test_a_responses_stream_that_stops_incomplete_reports_its_usage() -> None:
    raw = stream_of(Api.RESPONSES).replace(b"response.completed", b"response.incomplete")
    reader = usage_reader(ClientApi.RESPONSES, stream=True, content_type=SSE)
    assert read(reader, [raw]) == REPORTED


def test_responses_function_call_arguments_are_counted() -> None:
    delta = {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{}"}
    raw = b"event: x\ndata: " + orjson.dumps(delta) + b"\n\n"
    reader = usage_reader(ClientApi.RESPONSES, stream=True, content_type=SSE)
    assert read(reader, [raw]) is None
    assert reader.streamed_text_chars == 2


@pytest.mark.parametrize(("api", "reader_api"), READER_APIS)
@pytest.mark.parametrize("streamed_request", [False, True])
def test_an_error_answer_reports_none(
    api: Api, reader_api: ClientApi | ProviderApi, streamed_request: bool
) -> None:
    body, _ = error_reply(api, 429, "slow down")
    reader = usage_reader(reader_api, stream=streamed_request, content_type=JSON)
    assert read(reader, [orjson.dumps(body)]) is None


def test_a_stream_that_fails_reports_none() -> None:
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    raw = chat_stream(chat_chunk({"content": "Hi"}), error, done=False)
    reader = usage_reader(ClientApi.CHAT, stream=True, content_type=SSE)
    assert read(reader, [raw]) is None
    assert reader.streamed_text_chars == 2


@pytest.mark.parametrize("missing", [None, ""])
def test_without_a_content_type_the_request_decides(missing: str | None) -> None:
    chat = usage_reader(ClientApi.CHAT, stream=True, content_type=missing)
    assert read(chat, [CHAT_TEXT_THEN_TOOLS]) == CHAT_USAGE
    body = orjson.dumps(json_body(Api.CHAT, "r1", "m", PIECES, PROMPT_BYTES))
    assert (
        read(usage_reader(ClientApi.CHAT, stream=False, content_type=missing), [body]) == REPORTED
    )


def test_the_content_type_decides_over_the_request() -> None:
    reader = usage_reader(ClientApi.CHAT, stream=False, content_type="Text/Event-Stream")
    assert read(reader, [CHAT_TEXT_THEN_TOOLS]) == CHAT_USAGE


@pytest.mark.parametrize("body", [b"", b"\x00\xff garbage", b"[1, 2]", b'{"usage": "many"}'])
@pytest.mark.parametrize("api", ALL_APIS)
def test_an_unreadable_json_answer_reports_none(body: bytes, api: ClientApi | ProviderApi) -> None:
    assert read(usage_reader(api, stream=False, content_type=JSON), [body]) is None


@pytest.mark.parametrize("api", ALL_APIS)
def test_a_garbage_stream_reports_none(api: ClientApi | ProviderApi) -> None:
    garbage = b"\x00\x00\x00\x10\xff\xfe data: {not json\n\n\r\ndata: [1]\n\n\xe2\x9c"
    reader = usage_reader(api, stream=True, content_type=None)
    assert read(reader, bytewise(garbage)) is None
    assert reader.streamed_text_chars == 0


def test_responses_in_progress_has_null_usage() -> None:
    body = json_body(Api.RESPONSES, "r1", "m", PIECES, PROMPT_BYTES) | {"usage": None}
    reader = usage_reader(ClientApi.RESPONSES, stream=False, content_type=JSON)
    assert read(reader, [orjson.dumps(body)]) is None


def test_the_json_cap_is_the_translators() -> None:
    assert MAX_JSON_BYTES == MAX_COLLECTED_BYTES


def test_a_json_answer_over_the_cap_reports_none_without_holding_it() -> None:
    chunk_bytes, chunks = 256 * 1024, 64  # 16 MiB through a 1 MiB cap
    reader = usage_reader(ClientApi.CHAT, stream=False, content_type=JSON, max_body_bytes=2**20)
    tracemalloc.start()
    try:
        reader.feed(b'{"usage": {"prompt_tokens": 1}, "pad": "')
        for _ in range(chunks):
            reader.feed(b"x" * chunk_bytes)  # a fresh chunk each time, as from the network
        reader.feed(b'"}')
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reader.finish() is None
    assert held < chunk_bytes
    assert peak < 2 * 2**20


def test_a_stream_whose_event_outgrows_the_framing_reports_none_and_lets_go() -> None:
    reader = usage_reader(ClientApi.CHAT, stream=True, content_type=SSE)
    reader.feed(b"data: " + orjson.dumps(chat_chunk({"content": "Hi"})) + b"\n\n")
    tracemalloc.start()
    try:
        reader.feed(b"data: ")
        for _ in range(48):  # 12 MiB in one event, past the 8 MiB an event may hold
            reader.feed(b"x" * 256 * 1024)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    reader.feed(chat_stream(chat_chunk(None, usage={"prompt_tokens": 1})))
    assert reader.finish() is None
    assert held < 2**20
    assert peak < 20 * 2**20
    assert reader.streamed_text_chars == 2


def test_finish_is_idempotent() -> None:
    for stream in (False, True):
        raw = CHAT_TEXT_THEN_TOOLS if stream else orjson.dumps({"usage": {"prompt_tokens": 2}})
        reader = usage_reader(ClientApi.CHAT, stream=stream, content_type=None)
        reader.feed(raw)
        assert reader.finish() == reader.finish() is not None
