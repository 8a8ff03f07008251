"""The usage an answer reports, read as its bytes pass by, for token accounting: the bytes
themselves are neither changed nor kept.

    reader = usage_reader(api, stream=parsed.stream, content_type=headers.get("content-type"))
    reader.feed(chunk) ...
    usage = reader.finish()  # None: the answer reported none

`api` is the API the answer is written in: the client's own when the request went out
untranslated, else `translation.upstream` (the service reads an answer before translating it).

A JSON answer is read whole, once complete, so it is held up to `max_body_bytes`; past that
the reader gives up and lets go of it. A stream is read event by event through its API's
decoder, so only a pending event is held (at most `sse.MAX_EVENT_BYTES`, or Bedrock's
`eventstream.MAX_MESSAGE_BYTES`). Unreadable input is never an error: an answer that cannot be
read, or whose framing breaks, reports None; a single unreadable event is skipped, since a
later one may still carry the usage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.wire.bedrock.common import usage_from_bedrock
from plano_extproc.wire.chat.common import usage_from_chat
from plano_extproc.wire.errors import TranslationError
from plano_extproc.wire.events import TextDelta, ToolArgumentsDelta
from plano_extproc.wire.ir import Usage
from plano_extproc.wire.lenient import json_object
from plano_extproc.wire.messages.common import usage_from_anthropic
from plano_extproc.wire.responses.common import usage_from_responses
from plano_extproc.wire.responses.streams import UsageDecoder as ResponsesUsageDecoder
from plano_extproc.wire.sse import SseEvent, SseParser
from plano_extproc.wire.streams import StreamDecoder, StreamFraming
from plano_extproc.wire.translation import (
    SSE_MEDIA_TYPE,
    media_type,
    native_upstream,
    upstream_stream,
    upstream_stream_type,
)

# As much of a JSON answer as is held to read its usage (extproc's MAX_COLLECTED_BYTES).
MAX_JSON_BYTES = 32 * 1024 * 1024


class UsageReader(Protocol):
    def feed(self, chunk: bytes) -> None:
        """The answer's next bytes, split anywhere."""
        ...

    def finish(self) -> Usage | None:
        """The usage the answer reported, once it has ended; None when it reported none
        (an error, an OpenAI stream without `stream_options.include_usage`) or could not be
        read."""
        ...

    @property
    def streamed_text_chars(self) -> int:
        """The characters of text and tool-call arguments a stream has carried so far, to
        estimate its output where it reports no usage; 0 for a JSON answer."""
        ...


@dataclass(frozen=True, slots=True)
class _Format:
    """How answers in one API are read: the `usage` object that each API puts at the top of
    a JSON answer, and a stream's media type, framing and decoder."""

    read_usage: Callable[[object], Usage]
    stream_type: str
    stream: Callable[[], tuple[StreamFraming, StreamDecoder]]


def _upstream(api: ProviderApi, read_usage: Callable[[object], Usage]) -> _Format:
    return _Format(read_usage, upstream_stream_type(api), lambda: upstream_stream(api, created=0))


_FORMATS: dict[ClientApi | ProviderApi, _Format] = {
    ProviderApi.OPENAI: _upstream(ProviderApi.OPENAI, usage_from_chat),
    ProviderApi.ANTHROPIC: _upstream(ProviderApi.ANTHROPIC, usage_from_anthropic),
    ProviderApi.BEDROCK: _upstream(ProviderApi.BEDROCK, usage_from_bedrock),
    ClientApi.RESPONSES: _Format(
        usage_from_responses, SSE_MEDIA_TYPE, lambda: (SseParser(), ResponsesUsageDecoder())
    ),
}


def usage_reader(
    api: ClientApi | ProviderApi,
    *,
    stream: bool,
    content_type: str | None,
    max_body_bytes: int = MAX_JSON_BYTES,
) -> UsageReader:
    """A reader for one answer in `api`: a client API for an untranslated request, the
    upstream's (`Translation.upstream`) for a translated one.

    The answer is read as a stream when `content_type` is its API's stream type (SSE, or
    Bedrock's event stream), else as JSON (an error answer to a streamed request is JSON);
    `stream`, whether the request asked for one, decides only without a `content_type`
    (None or "").
    """
    upstream = native_upstream(api) if isinstance(api, ClientApi) else api
    answer_format = _FORMATS[upstream or api]
    if content_type:
        stream = media_type(content_type) == answer_format.stream_type
    if stream:
        return _StreamUsage(*answer_format.stream())
    return _JsonUsage(answer_format.read_usage, max_body_bytes)


class _JsonUsage:
    def __init__(self, read_usage: Callable[[object], Usage], max_bytes: int) -> None:
        self._read_usage = read_usage
        self._max_bytes = max_bytes
        self._chunks: list[bytes] = []
        self._size = 0
        self._done = False  # finished, or given up as too large
        self._usage: Usage | None = None

    @property
    def streamed_text_chars(self) -> int:
        return 0

    def feed(self, chunk: bytes) -> None:
        if self._done:
            return
        self._size += len(chunk)
        if self._size > self._max_bytes:
            self._done = True
            self._chunks.clear()
            return
        self._chunks.append(chunk)

    def finish(self) -> Usage | None:
        if not self._done:
            self._done = True
            self._usage = self._read(b"".join(self._chunks))
            self._chunks.clear()
        return self._usage

    def _read(self, body: bytes) -> Usage | None:
        try:
            usage = json_object(body, "an answer").get("usage")
        except TranslationError:
            return None
        return self._read_usage(usage) if isinstance(usage, dict) else None


class _StreamUsage:
    def __init__(self, framing: StreamFraming, decoder: StreamDecoder) -> None:
        self._framing: StreamFraming | None = framing  # None once it broke, or was closed
        self._broken = False
        self._decoder = decoder
        self._chars = 0

    @property
    def streamed_text_chars(self) -> int:
        return self._chars

    def feed(self, chunk: bytes) -> None:
        framing = self._framing
        if framing is not None:
            self._read(lambda: framing.feed(chunk))

    def finish(self) -> Usage | None:
        framing = self._framing
        if framing is not None:
            self._read(framing.close)
            self._framing = None
        return None if self._broken else self._decoder.usage

    def _read(self, frame: Callable[[], Iterable[SseEvent]]) -> None:
        try:
            for event in frame():
                self._decode(event)
        except TranslationError:
            # Nothing after broken framing can be read; let go of what it holds.
            self._framing = None
            self._broken = True

    def _decode(self, event: SseEvent) -> None:
        try:
            events = self._decoder.decode(event)
        except TranslationError:
            return
        for decoded in events:
            if isinstance(decoded, TextDelta):
                self._chars += len(decoded.text)
            elif isinstance(decoded, ToolArgumentsDelta):
                self._chars += len(decoded.fragment)
