from __future__ import annotations

import orjson
import pytest

from plano_extproc.config.model import DEFAULT_MAX_REQUEST_BYTES as MAX_BODY_BYTES
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import InvalidRequest, Message, Role, parse_body, parse_request
from plano_extproc.wire.parse import read_transcript
from tests.wire.support import assert_invalid

CHAT_BODY = b'{"messages":[{"role":"user","content":"hi"}]}'


def _parse_error(raw: bytes, **kwargs: int) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(ClientApi.CHAT, raw, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "request body is empty; expected a JSON object"),
        (b" \r\n\t", "request body is empty; expected a JSON object"),
        (b'{"messages": [\xff]}', "request body is not valid UTF-8 (byte 14)"),
        (b"\xef\xbb", "request body is not valid UTF-8 (byte 0)"),
    ],
)
def test_empty_or_undecodable_body(raw: bytes, message: str) -> None:
    error = _parse_error(raw)

    assert (error.message, error.reason, error.status) == (message, "malformed_json", 400)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"messages": ', "(line 1, column 14)"),
        (b"{'a': 1}", "(line 1, column 2)"),
        (b'{"a": 1,\n "b": }', "(line 2, column 7)"),
        (b"NaN", "(line 1, column 1)"),
        (b'{"a": 1e999}', "(line 1, column 7)"),
        (b'{"a": "\\ud800"}', "(line 1, column 8)"),
    ],
)
def test_syntax_errors_name_the_position(raw: bytes, where: str) -> None:
    error = _parse_error(raw)

    # The problem itself is worded by orjson; the frame and the position are ours.
    assert error.message.startswith("request body is not valid JSON: ")
    assert error.message.endswith(where)
    assert (error.reason, error.status) == ("malformed_json", 400)


def test_nesting_beyond_the_decoder_limit_is_malformed() -> None:
    error = _parse_error(b"[" * 2000 + b"]" * 2000)

    assert error.reason == "malformed_json"
    assert error.message.startswith("request body is not valid JSON: depth limit exceeded")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"[]", "array"),
        (b'"s"', "string"),
        (b"1", "number"),
        (b"2.5", "number"),
        (b"true", "boolean"),
        (b"null", "null"),
    ],
)
def test_body_must_be_an_object(raw: bytes, kind: str) -> None:
    error = _parse_error(raw)

    assert (error.message, error.reason, error.status) == (
        f"request body: expected a JSON object, got {kind}",
        "body_not_object",
        400,
    )


def test_body_over_the_limit_is_413() -> None:
    error = _parse_error(CHAT_BODY, max_body_bytes=len(CHAT_BODY) - 1)

    assert (error.message, error.reason, error.status) == (
        f"request body is {len(CHAT_BODY)} bytes, over the limit of {len(CHAT_BODY) - 1} bytes",
        "body_too_large",
        413,
    )
    assert error.to_json()["error"]["details"] == {"reason": "body_too_large"}


def test_body_at_the_limit_is_accepted() -> None:
    parsed = parse_request(ClientApi.CHAT, CHAT_BODY, max_body_bytes=len(CHAT_BODY))

    assert parsed.messages[0].text == "hi"


def test_default_limit_is_ten_mebibytes() -> None:
    padding = "x" * (MAX_BODY_BYTES - len(CHAT_BODY))
    raw = orjson.dumps({"messages": [{"role": "user", "content": "hi"}], "p": padding})

    assert len(raw) > MAX_BODY_BYTES
    assert _parse_error(raw).status == 413


def test_parsed_body_is_the_decoded_object() -> None:
    raw = b'{"messages":[{"role":"user","content":"caf\\u00e9"}],"temperature":0.1,"n":1}'

    parsed = parse_request(ClientApi.CHAT, raw)

    assert parsed.body == orjson.loads(raw)
    assert parsed.messages[0].text == "café"


@pytest.mark.parametrize("api", list(ClientApi))
def test_non_object_body_is_refused_by_every_api(api: ClientApi) -> None:
    assert_invalid(api, [], "request body: expected a JSON object, got array", "body_not_object")


def test_integers_beyond_64_bits_are_read_as_the_nearest_float() -> None:
    # orjson's choice, shared with the upstream providers' own JSON parsers.
    parsed = parse_request(ClientApi.CHAT, CHAT_BODY[:-1] + b',"seed":1180591620717411303424}')

    assert parsed.body["seed"] == float(2**70)


def test_what_no_other_api_can_express_is_read_for_routing_and_noted_for_translation() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "listen"}, audio]},
            {"role": "function", "name": "f", "content": "old"},
        ]
    }

    transcript = read_transcript(ClientApi.CHAT, body)

    assert parse_body(ClientApi.CHAT, body).messages == (
        Message(Role.USER, "listen"),
        Message(Role.TOOL, "old"),
    )
    # The first problem in reading order is the one a translation raises.
    assert transcript.untranslatable is not None
    assert (transcript.untranslatable.message, transcript.untranslatable.reason) == (
        'messages[0].content[1]: content of type "input_audio" has no upstream equivalent',
        "untranslatable",
    )


def test_a_malformed_request_is_refused_even_after_an_untranslatable_part() -> None:
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "input_audio"}]},
            {"role": "user", "content": [{"type": "text"}]},
        ]
    }

    assert_invalid(
        ClientApi.CHAT,
        body,
        "messages[1].content[0].text: required field is missing",
        "missing_field",
    )


def test_a_translatable_request_notes_nothing() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]}

    assert read_transcript(ClientApi.CHAT, body).untranslatable is None


def test_the_conversation_view_is_projected_once_where_the_body_is_parsed() -> None:
    # Parsing a large body runs in a worker thread; the view must not be rebuilt on every read
    # (on the event loop, 100,000 turns would stall its health checks).
    body = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    parsed = parse_body(ClientApi.CHAT, body)
    assert parsed.messages is parsed.messages
    assert parsed.messages == (Message(Role.USER, "hi"), Message(Role.ASSISTANT, "yo"))
