"""Response translation for one stream of the translating ext_proc filter.

That filter runs only on routes of translated requests; it skips the request and sends us the
response headers (with the decision's metadata forwarded) and then the body chunk by chunk.
Streams are translated chunk by chunk; a JSON answer is collected and translated at its end.
A Responses answer whose request carried a state key (`state_storage`) is also read once
complete, so that the service can store the exchange under the id the client received.
"""

from __future__ import annotations

import logging

import orjson

from plano_extproc.contract.metadata import (
    INCLUDE_USAGE_KEY,
    METADATA_NAMESPACE,
    MODEL_KEY,
    STATE_KEY,
    STREAM_KEY,
    TRANSLATION_KEY,
)
from plano_extproc.conversations.base import Items
from plano_extproc.conversations.items import COMPLETED_EVENT, completed_exchange
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import (
    BodyMutation,
    BodyResponse,
    CommonResponse,
    HeaderMutation,
    HeadersResponse,
    ProcessingRequest,
    ProcessingResponse,
)
from plano_extproc.extproc.messages import header_dict, json_reply, set_header
from plano_extproc.wire import (
    JSON_CONTENT_TYPE,
    SSE_CONTENT_TYPE,
    StreamTranslator,
    Translation,
    TranslationError,
    is_upstream_stream,
    stream_translator,
    translate_response,
)
from plano_extproc.wire.sse import SseParser

log = logging.getLogger(__name__)

# `resp_<state key>` is then the id the client sees (the prefix before "_" is dropped).
ANSWER_ID_PREFIX = "plano_"

# A JSON answer is translated whole, so it is held until its end: at most this much.
MAX_COLLECTED_BYTES = 32 * 1024 * 1024
# Past that the request fails (Envoy ends the response) rather than hold more.
_TOO_LARGE = json_reply(
    502,
    {
        "error": {
            "code": "ProviderAnswerTooLarge",
            "message": f"the provider's answer is over {MAX_COLLECTED_BYTES} bytes",
            "details": {"reason": "answer_too_large"},
        }
    },
)
_CLEAR_CHUNK = ProcessingResponse(
    response_body=BodyResponse(response=CommonResponse(body_mutation=BodyMutation(clear_body=True)))
)


def _body_reply(body: bytes) -> ProcessingResponse:
    if not body:
        return _CLEAR_CHUNK
    mutation = BodyMutation(body=body)
    return ProcessingResponse(
        response_body=BodyResponse(response=CommonResponse(body_mutation=mutation))
    )


class ResponseTranslation:
    """State for one translated response: built from its response-headers message."""

    def __init__(
        self,
        translation: Translation,
        status: int,
        streaming: bool,
        usage: bool,
        state_key: str | None = None,
        model: str | None = None,
    ):
        self._translation = translation
        # For upstreams whose answers do not name their model (Bedrock's).
        self._model = model
        self._status = status
        # A stored conversation's id is ours, unguessable and unique, not the upstream's:
        # some servers reuse ids, and an id is all it takes to read a stored conversation.
        self._answer_id = f"{ANSWER_ID_PREFIX}{state_key}" if state_key else None
        self._stream: StreamTranslator | None = (
            stream_translator(
                translation, include_usage=usage, answer_id=self._answer_id, model=model
            )
            if streaming
            else None
        )
        self._collected: list[bytes] = []
        self._collected_bytes = 0
        # Set for a stored conversation: our own translated events, read back for the end.
        self.state_key = state_key if status < 400 else None
        self._events = SseParser() if self.state_key and streaming else None
        self.completed: tuple[str, Items] | None = None

    @property
    def translation(self) -> Translation:
        return self._translation

    @classmethod
    def start(
        cls, message: ProcessingRequest
    ) -> tuple[ResponseTranslation | None, ProcessingResponse]:
        """None (and a plain continue) when the metadata names no translation."""
        fields = message.metadata_context.filter_metadata[METADATA_NAMESPACE].fields
        try:
            translation = Translation(fields[TRANSLATION_KEY].string_value)
        except (KeyError, ValueError):
            return None, ProcessingResponse(response_headers=HeadersResponse())
        state, mutation = cls.begin(
            translation,
            header_dict(message.response_headers.headers),
            stream=fields[STREAM_KEY].string_value == "true",
            usage=INCLUDE_USAGE_KEY in fields and fields[INCLUDE_USAGE_KEY].string_value == "true",
            state_key=fields[STATE_KEY].string_value if STATE_KEY in fields else None,
            model=fields[MODEL_KEY].string_value if MODEL_KEY in fields else None,
        )
        reply = HeadersResponse(response=CommonResponse(header_mutation=mutation))
        return state, ProcessingResponse(response_headers=reply)

    @classmethod
    def begin(
        cls,
        translation: Translation,
        headers: dict[str, str],
        *,
        stream: bool,
        usage: bool,
        state_key: str | None,
        model: str | None = None,
    ) -> tuple[ResponseTranslation, HeaderMutation]:
        """The state for a response with these headers, and the header changes it needs.
        `model` is the provider's name (`amazon_bedrock/<model id>`) of the answering model."""
        status = int(headers.get(":status", "200") or 200)
        streaming = (
            stream
            and status < 400
            and is_upstream_stream(translation, headers.get("content-type", ""))
        )
        bare_model = model.partition("/")[2] if model else None
        state = cls(translation, status, streaming, usage, state_key, bare_model)
        content_type = SSE_CONTENT_TYPE if streaming else JSON_CONTENT_TYPE
        mutation = HeaderMutation(
            set_headers=[set_header("content-type", content_type)],
            remove_headers=["content-length"],
        )
        return state, mutation

    def on_body(self, chunk: bytes, end_of_stream: bool) -> ProcessingResponse:
        if self._stream is not None:
            out = self._stream.feed(chunk)
            if end_of_stream:
                out += self._stream.finish()
            self._watch_events(out)
            return _body_reply(out)
        self._collected.append(chunk)
        self._collected_bytes += len(chunk)
        if self._collected_bytes > MAX_COLLECTED_BYTES:
            log.warning("an upstream answer to translate is over %d bytes", MAX_COLLECTED_BYTES)
            self._collected.clear()
            return _TOO_LARGE
        if not end_of_stream:
            return _CLEAR_CHUNK
        translated = self._translate_collected()
        if self.state_key is not None:
            self.completed = completed_exchange(_json_or_none(translated))
        return _body_reply(translated)

    def _watch_events(self, out: bytes) -> None:
        if self._events is None or not out:
            return
        try:
            events = self._events.feed(out)
        except TranslationError:
            # Too large to read back: the exchange is not stored.
            self._events = None
            return
        for event in events:
            if event.event == COMPLETED_EVENT:
                data = _json_or_none(event.data.encode())
                if isinstance(data, dict):
                    self.completed = completed_exchange(data.get("response"))

    def _translate_collected(self) -> bytes:
        body = b"".join(self._collected)
        try:
            return translate_response(
                self._translation,
                body,
                status=self._status,
                answer_id=self._answer_id,
                model=self._model,
            )
        except TranslationError:
            log.warning("upstream answered an unreadable body for a translated request")
            return translate_response(self._translation, body, status=502)


def _json_or_none(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
