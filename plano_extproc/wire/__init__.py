"""The client APIs on the wire (OpenAI Chat Completions, Anthropic Messages, OpenAI Responses):
reading a request for routing, and translating requests, answers and streams between them and
to the upstream APIs (those three, and Amazon Bedrock Converse) (SPEC §2.2). Pure logic:
bodies and stream bytes in, bodies and stream bytes out; no I/O.

    parsed = parse_request(api, raw)     # read once: routing reads parsed.messages
    translation = upstream_translation(parsed.api, provider)  # None: forward untouched
    upstream_body = translate_request(
        translation, parsed.body, parsed.transcript, model=provider.model_id
    )
    client_body = translate_response(translation, upstream_body_bytes, status=status)
    stream = stream_translator(translation, include_usage=...)
    client_bytes = stream.feed(chunk) ... + stream.finish()
    usage = usage_reader(api, stream=..., content_type=...)  # the answer's usage (`usage`)

Every API is read into and written from one neutral model (`ir`, `events`), so each format
has one reader and one writer per direction; a request's body is read once, by the reader that
both routing and translation use. Decisions, each documented where it is made:
- requests: features the upstream cannot express and that would change the answer are noted
  as the request is read, and a translation refuses them with InvalidRequest (400, reason
  "untranslatable"): n > 1, JSON output modes, stored conversation state, built-in/server
  tools, documents, audio and file inputs; tuning without a counterpart is dropped. Anthropic
  gets max_tokens 4096 when the client set none, and temperature clamped to 1. Tool arguments
  must be a JSON object.
- responses: an upstream error body, or any 4xx/5xx body, becomes the client's error shape.
- streams: output is always well formed (one start, content, one terminal event); an
  unreadable upstream event or a stream cut short ends it with the client's error event.
"""

from plano_extproc.wire.body import needs_rewrite, rewrite_body
from plano_extproc.wire.conversation import Message, ParsedRequest
from plano_extproc.wire.errors import UNTRANSLATABLE, InvalidRequest, TranslationError
from plano_extproc.wire.ir import Role, ToolCall, Transcript, Usage
from plano_extproc.wire.parse import parse_body, parse_request, read_transcript
from plano_extproc.wire.streams import StreamTranslator
from plano_extproc.wire.translation import (
    JSON_CONTENT_TYPE,
    SSE_CONTENT_TYPE,
    Translation,
    client_error_body,
    is_upstream_stream,
    stream_translator,
    translate_request,
    translate_response,
    translation_for,
    upstream_translation,
    wire_api,
)
from plano_extproc.wire.usage import UsageReader, usage_reader

__all__ = [
    "JSON_CONTENT_TYPE",
    "SSE_CONTENT_TYPE",
    "UNTRANSLATABLE",
    "InvalidRequest",
    "Message",
    "ParsedRequest",
    "Role",
    "StreamTranslator",
    "ToolCall",
    "Transcript",
    "Translation",
    "TranslationError",
    "Usage",
    "UsageReader",
    "client_error_body",
    "is_upstream_stream",
    "needs_rewrite",
    "parse_body",
    "parse_request",
    "read_transcript",
    "rewrite_body",
    "stream_translator",
    "translate_request",
    "translate_response",
    "translation_for",
    "upstream_translation",
    "usage_reader",
    "wire_api",
]
