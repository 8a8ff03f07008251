import orjson

from plano_extproc.wire import Translation, translate_response

GATEWAY_ERROR = {
    "error": {
        "code": "ProviderUnavailable",
        "message": "the provider could not be reached",
        "details": {"reason": "upstream_unavailable"},
    }
}


def test_gateway_error_reply_keeps_its_message_through_translation() -> None:
    body = translate_response(
        Translation.CHAT_TO_ANTHROPIC, orjson.dumps(GATEWAY_ERROR), status=503
    )
    assert orjson.loads(body)["error"]["message"] == "the provider could not be reached"


def test_error_shaped_body_on_success_is_not_treated_as_error_for_anthropic() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
        "error": {"message": "not an error on a 200"},
    }
    body = translate_response(Translation.CHAT_TO_ANTHROPIC, orjson.dumps(message), status=200)
    assert orjson.loads(body)["choices"][0]["message"]["content"] == "hi"
