"""Entry point: a client request body, in any of the three APIs, → ParsedRequest, read once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plano_extproc.config.model import DEFAULT_MAX_REQUEST_BYTES
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import reasons
from plano_extproc.wire.chat.requests import read_chat_transcript
from plano_extproc.wire.conversation import ParsedRequest
from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.fields import json_type, optional_bool, optional_str
from plano_extproc.wire.inline_routes import inline_routes
from plano_extproc.wire.ir import Transcript
from plano_extproc.wire.json_codec import decode_json
from plano_extproc.wire.messages.requests import read_messages_transcript
from plano_extproc.wire.responses.requests import read_responses_transcript

_READERS: dict[ClientApi, Callable[[dict[str, Any]], Transcript]] = {
    ClientApi.CHAT: read_chat_transcript,
    ClientApi.MESSAGES: read_messages_transcript,
    ClientApi.RESPONSES: read_responses_transcript,
}


def parse_request(
    api: ClientApi, raw: bytes, *, max_body_bytes: int = DEFAULT_MAX_REQUEST_BYTES
) -> ParsedRequest:
    """Decode and validate a raw request body; raises InvalidRequest (413 when too large)."""
    if len(raw) > max_body_bytes:
        raise InvalidRequest(
            f"request body is {len(raw)} bytes, over the limit of {max_body_bytes} bytes",
            reason=reasons.BODY_TOO_LARGE,
            status=413,
        )
    return parse_body(api, decode_json(raw))


def parse_body(api: ClientApi, body: object) -> ParsedRequest:
    """Validate an already decoded body. `body` is kept, not copied, as ParsedRequest.body."""
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"request body: expected a JSON object, got {json_type(body)}",
            reason=reasons.BODY_NOT_OBJECT,
        )
    return ParsedRequest(
        api=api,
        transcript=read_transcript(api, body),
        model=optional_str(body, "model", ""),
        stream=optional_bool(body, "stream", ""),
        inline_routes=inline_routes(body),
        body=body,
    )


def read_transcript(api: ClientApi, body: dict[str, Any]) -> Transcript:
    """The conversation of a decoded body in `api`; raises InvalidRequest."""
    return _READERS[api](body)
