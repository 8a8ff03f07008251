"""Which translation a request needs, and the non-streamed translations themselves.

A translation pairs the client's API with the upstream's wire API when they differ. A
Responses client routed to an OpenAI upstream needs none: it is sent to `/v1/responses`.
Bedrock is an upstream API only: every client API is translated to Converse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import orjson

from plano_extproc.config.model import ModelProvider
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.wire.bedrock.common import error_from_bedrock
from plano_extproc.wire.bedrock.completions import read_converse_completion
from plano_extproc.wire.bedrock.framing import STREAM_CONTENT_TYPE as BEDROCK_STREAM_TYPE
from plano_extproc.wire.bedrock.framing import ConverseFraming
from plano_extproc.wire.bedrock.requests import write_converse_request
from plano_extproc.wire.bedrock.streams import ConverseDecoder
from plano_extproc.wire.chat.common import error_from_openai, openai_error
from plano_extproc.wire.chat.completions import read_chat_completion, write_chat_completion
from plano_extproc.wire.chat.requests import neutral_chat_request, write_chat_request
from plano_extproc.wire.chat.streams import ChunkDecoder, ChunkEncoder
from plano_extproc.wire.errors import TranslationError
from plano_extproc.wire.ir import ApiError, Completion, Request, Transcript, kind_for_status
from plano_extproc.wire.json_codec import encode_json
from plano_extproc.wire.lenient import json_bytes, json_object
from plano_extproc.wire.messages.common import anthropic_error, error_from_anthropic
from plano_extproc.wire.messages.completions import (
    read_messages_completion,
    write_messages_completion,
)
from plano_extproc.wire.messages.requests import (
    neutral_messages_request,
    write_messages_request,
)
from plano_extproc.wire.messages.streams import EventDecoder, EventEncoder
from plano_extproc.wire.responses.completions import write_responses_completion
from plano_extproc.wire.responses.requests import neutral_responses_request
from plano_extproc.wire.responses.streams import EventEncoder as ResponsesEventEncoder
from plano_extproc.wire.sse import SseParser
from plano_extproc.wire.streams import (
    StreamDecoder,
    StreamEncoder,
    StreamFraming,
    StreamTranslator,
)

JSON_CONTENT_TYPE = "application/json"
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
SSE_MEDIA_TYPE = "text/event-stream"
# How much of a non-JSON upstream error body is quoted to the client.
_QUOTED_ERROR_CHARS = 200


class Translation(StrEnum):
    CHAT_TO_ANTHROPIC = "chat_to_anthropic"
    MESSAGES_TO_OPENAI = "messages_to_openai"
    RESPONSES_TO_ANTHROPIC = "responses_to_anthropic"
    RESPONSES_TO_OPENAI = "responses_to_openai"  # Responses → Chat Completions
    CHAT_TO_BEDROCK = "chat_to_bedrock"
    MESSAGES_TO_BEDROCK = "messages_to_bedrock"
    RESPONSES_TO_BEDROCK = "responses_to_bedrock"

    @property
    def client(self) -> ClientApi:
        return _ROUTES[self][0]

    @property
    def upstream(self) -> ProviderApi:
        return _ROUTES[self][1]

    @property
    def upstream_body_api(self) -> ClientApi | None:
        """The client API the upstream body is written in, which decides the upstream path;
        None for Bedrock, whose path names the model and whether the answer streams
        (`providers/paths.py`)."""
        return _UPSTREAMS[self.upstream].body_api


_ROUTES: dict[Translation, tuple[ClientApi, ProviderApi]] = {
    Translation.CHAT_TO_ANTHROPIC: (ClientApi.CHAT, ProviderApi.ANTHROPIC),
    Translation.MESSAGES_TO_OPENAI: (ClientApi.MESSAGES, ProviderApi.OPENAI),
    Translation.RESPONSES_TO_ANTHROPIC: (ClientApi.RESPONSES, ProviderApi.ANTHROPIC),
    Translation.RESPONSES_TO_OPENAI: (ClientApi.RESPONSES, ProviderApi.OPENAI),
    Translation.CHAT_TO_BEDROCK: (ClientApi.CHAT, ProviderApi.BEDROCK),
    Translation.MESSAGES_TO_BEDROCK: (ClientApi.MESSAGES, ProviderApi.BEDROCK),
    Translation.RESPONSES_TO_BEDROCK: (ClientApi.RESPONSES, ProviderApi.BEDROCK),
}
_TRANSLATIONS = {route: translation for translation, route in _ROUTES.items()}


@dataclass(frozen=True, slots=True)
class _ClientSide:
    neutral_request: Callable[[dict[str, Any], Transcript], Request]
    write_completion: Callable[[Completion], dict[str, Any]]
    write_error: Callable[[ApiError], dict[str, Any]]
    stream_encoder: Callable[[bool], StreamEncoder]  # given whether usage was asked for


@dataclass(frozen=True, slots=True)
class _UpstreamSide:
    body_api: ClientApi | None  # None: the path does not follow from a client API
    write_request: Callable[[Request, str], dict[str, Any]]  # given the bare model id
    read_completion: Callable[[dict[str, Any], int], Completion]  # given a fallback time
    read_error: Callable[[dict[str, Any], int | None], ApiError | None]
    stream_decoder: Callable[[int], StreamDecoder]
    stream_content_type: str = SSE_MEDIA_TYPE  # the media type of a streamed answer
    stream_framing: Callable[[], StreamFraming] = SseParser


def _openai_error_body(error: ApiError) -> dict[str, Any]:
    return {"error": openai_error(error)}


_CLIENTS = {
    ClientApi.CHAT: _ClientSide(
        neutral_request=neutral_chat_request,
        write_completion=write_chat_completion,
        write_error=_openai_error_body,
        stream_encoder=lambda include_usage: ChunkEncoder(include_usage=include_usage),
    ),
    ClientApi.MESSAGES: _ClientSide(
        neutral_request=neutral_messages_request,
        write_completion=write_messages_completion,
        write_error=anthropic_error,
        stream_encoder=lambda _: EventEncoder(),
    ),
    ClientApi.RESPONSES: _ClientSide(
        neutral_request=neutral_responses_request,
        write_completion=write_responses_completion,
        write_error=_openai_error_body,
        stream_encoder=lambda _: ResponsesEventEncoder(),
    ),
}
_UPSTREAMS = {
    ProviderApi.OPENAI: _UpstreamSide(
        body_api=ClientApi.CHAT,
        write_request=lambda request, model: write_chat_request(request, model=model),
        read_completion=lambda body, created: read_chat_completion(body, created=created),
        read_error=error_from_openai,
        stream_decoder=lambda created: ChunkDecoder(created=created),
    ),
    ProviderApi.ANTHROPIC: _UpstreamSide(
        body_api=ClientApi.MESSAGES,
        write_request=lambda request, model: write_messages_request(request, model=model),
        read_completion=lambda body, created: read_messages_completion(body, created=created),
        read_error=error_from_anthropic,
        stream_decoder=lambda created: EventDecoder(created=created),
    ),
    ProviderApi.BEDROCK: _UpstreamSide(
        body_api=None,
        write_request=lambda request, _model: write_converse_request(request),
        read_completion=lambda body, created: read_converse_completion(body, created=created),
        read_error=error_from_bedrock,
        stream_decoder=lambda created: ConverseDecoder(created=created),
        stream_content_type=BEDROCK_STREAM_TYPE,
        stream_framing=ConverseFraming,
    ),
}


# The upstream API whose wire format is a client API's own; Responses has none.
_NATIVE_UPSTREAMS = {side.body_api: api for api, side in _UPSTREAMS.items() if side.body_api}


def native_upstream(client: ClientApi) -> ProviderApi | None:
    """The upstream API that writes `client`'s answers as they are (chat: OpenAI, Messages:
    Anthropic); None for Responses, which only a client and OpenAI's own endpoint speak."""
    return _NATIVE_UPSTREAMS.get(client)


def translation_for(client: ClientApi, upstream: ProviderApi) -> Translation | None:
    """The translation from `client` to the `upstream` wire API; None when they are one."""
    return _TRANSLATIONS.get((client, upstream))


def wire_api(client: ClientApi, provider: ModelProvider) -> ProviderApi:
    """The API a request of `client` is sent to `provider` in, as Plano chooses it: Bedrock
    gets Converse from every client; a provider that serves Messages (Anthropic, Vercel) gets
    Messages from Messages clients, and an Anthropic provider from every client when
    `upstream_api: messages`; everything else goes as Chat Completions (or as Responses, to a
    provider that serves it)."""
    family = provider.family
    if family.native_api is ProviderApi.BEDROCK:
        return ProviderApi.BEDROCK
    if provider.native_messages or (
        client is ClientApi.MESSAGES and ClientApi.MESSAGES in family.serves
    ):
        return ProviderApi.ANTHROPIC
    return ProviderApi.OPENAI


def upstream_translation(client: ClientApi, provider: ModelProvider) -> Translation | None:
    """The translation a request of `client` needs on its way to `provider`; None when the
    provider serves that API as it is (Responses to OpenAI, which keeps its own state)."""
    wire = wire_api(client, provider)
    if client in provider.family.serves and not (
        provider.native_messages and client is not ClientApi.MESSAGES
    ):
        return None
    return translation_for(client, wire)


def translate_request(
    translation: Translation, body: dict[str, Any], transcript: Transcript, *, model: str
) -> bytes:
    """The upstream request body for a client body and its `transcript`, as read when the
    request was parsed (`read_transcript`), `model` being the bare id.

    Routing fields are not carried over. InvalidRequest (400) for a request the upstream
    API cannot express; see the readers and writers for what is refused and what is dropped.
    """
    request = _CLIENTS[translation.client].neutral_request(body, transcript)
    return encode_json(_UPSTREAMS[translation.upstream].write_request(request, model))


def is_upstream_stream(translation: Translation, content_type: str) -> bool:
    """Whether an upstream answer with this content type is the upstream API's stream (SSE,
    or Bedrock's AWS event stream), rather than a JSON body."""
    return media_type(content_type) == upstream_stream_type(translation.upstream)


def upstream_stream_type(api: ProviderApi) -> str:
    """The media type of `api`'s streamed answers (SSE, or Bedrock's AWS event stream)."""
    return _UPSTREAMS[api].stream_content_type


def media_type(content_type: str) -> str:
    """A Content-Type's media type, lowercased, without its parameters."""
    return content_type.partition(";")[0].strip().lower()


def upstream_stream(api: ProviderApi, *, created: int) -> tuple[StreamFraming, StreamDecoder]:
    """The framing and the decoder of one of `api`'s streamed answers; `created` dates it
    where the upstream does not."""
    side = _UPSTREAMS[api]
    return side.stream_framing(), side.stream_decoder(created)


def translate_response(
    translation: Translation,
    body: bytes,
    *,
    status: int | None = None,
    created: int | None = None,
    answer_id: str | None = None,
    model: str | None = None,
) -> bytes:
    """The client's JSON for a non-streamed upstream answer, or for its error.

    An error body in the upstream's shape, or any body with a 4xx/5xx `status`, becomes the
    client API's error body (the HTTP status itself passes through unchanged). `created`
    (Unix seconds) stands in for upstreams that do not date their answers; default now.
    `answer_id` replaces the upstream's id, from which the client's ids are derived. `model`
    names the model for upstreams whose answers do not (Bedrock's).
    TranslationError when a success body is not a JSON object.
    """
    client = _CLIENTS[translation.client]
    upstream = _UPSTREAMS[translation.upstream]
    failed = status is not None and status >= 400
    try:
        parsed = json_object(body, "the upstream response body")
    except TranslationError:
        if not failed:
            raise
        return orjson.dumps(client.write_error(_unreadable_error(body, status)))
    error = upstream.read_error(parsed, status)
    if error is None and failed:
        error = ApiError(kind_for_status(status), f"the upstream answered HTTP {status}")
    if error is not None:
        return orjson.dumps(client.write_error(error))
    completion = upstream.read_completion(parsed, _now() if created is None else created)
    if answer_id is not None:
        completion = replace(completion, id=answer_id)
    if model and not completion.model:
        completion = replace(completion, model=model)
    return json_bytes(client.write_completion(completion))


def _unreadable_error(body: bytes, status: int | None) -> ApiError:
    quoted = body[:_QUOTED_ERROR_CHARS].decode("utf-8", errors="replace").strip()
    message = f"the upstream answered HTTP {status}"
    return ApiError(kind_for_status(status), f"{message}: {quoted}" if quoted else message)


def stream_translator(
    translation: Translation,
    *,
    include_usage: bool = False,
    created: int | None = None,
    answer_id: str | None = None,
    model: str | None = None,
) -> StreamTranslator:
    """A translator for one response stream.

    `include_usage`: the chat client's `stream_options.include_usage`, as only then does a
    chat stream carry a usage chunk. `created` (Unix seconds) dates the answer when the
    upstream does not; default now. `answer_id` and `model` as for `translate_response`.
    """
    moment = _now() if created is None else created
    framing, decoder = upstream_stream(translation.upstream, created=moment)
    encoder = _CLIENTS[translation.client].stream_encoder(include_usage)
    return StreamTranslator(
        decoder, encoder, created=moment, answer_id=answer_id, model=model, framing=framing
    )


def _now() -> int:
    return int(time.time())


def client_error_body(api: ClientApi, error: ApiError) -> dict[str, Any]:
    """An error body in `api`'s own shape (the gateway's refusals that clients' SDKs read)."""
    return _CLIENTS[api].write_error(error)
