"""Converse JSON answers and Bedrock errors, translated to each client API."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.wire import Translation, translate_response
from tests.wire.support import CREATED

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
TOOL_USE_ANSWER = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": "hm"}}},
                {"text": "Checking."},
                {
                    "toolUse": {
                        "toolUseId": "tooluse_1",
                        "name": "weather",
                        "input": {"city": "Oslo"},
                    }
                },
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 19, "cacheReadInputTokens": 4},
    "metrics": {"latencyMs": 300},
}


def answer(text: str = "Hi there.", stop: str = "end_turn") -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
    }


def translate(translation: Translation, body: object, **options: Any) -> dict[str, Any]:
    raw = orjson.dumps(body) if not isinstance(body, bytes) else body
    result: dict[str, Any] = orjson.loads(
        translate_response(translation, raw, created=CREATED, **options)
    )
    return result


def test_text_answer_to_chat() -> None:
    body = translate(Translation.CHAT_TO_BEDROCK, answer(), model=MODEL)

    assert body["id"].startswith("bedrock-")
    assert body["model"] == MODEL
    assert body["created"] == CREATED
    assert body["choices"][0]["message"]["content"] == "Hi there."
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] | {"prompt_tokens_details": None} == {
        "prompt_tokens": 5,
        "completion_tokens": 3,
        "total_tokens": 8,
        "prompt_tokens_details": None,
    }


def test_tool_use_answer_to_chat() -> None:
    body = translate(Translation.CHAT_TO_BEDROCK, TOOL_USE_ANSWER, answer_id="chatcmpl-x")

    assert body["id"] == "chatcmpl-x"
    assert body["model"] == ""
    message = body["choices"][0]["message"]
    assert message["content"] == "Checking."
    assert message["tool_calls"] == [
        {
            "id": "tooluse_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
        }
    ]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    # Cached tokens are part of the prompt, as OpenAI counts them.
    assert body["usage"]["prompt_tokens"] == 14
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 4}


def test_tool_use_answer_to_messages() -> None:
    body = translate(Translation.MESSAGES_TO_BEDROCK, TOOL_USE_ANSWER, model=MODEL)

    assert body["type"] == "message"
    assert body["model"] == MODEL
    assert body["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "tooluse_1", "name": "weather", "input": {"city": "Oslo"}},
    ]
    assert body["stop_reason"] == "tool_use"
    assert body["usage"] == {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 4,
    }


def test_tool_use_answer_to_responses() -> None:
    body = translate(Translation.RESPONSES_TO_BEDROCK, TOOL_USE_ANSWER, model=MODEL)

    assert body["object"] == "response"
    assert body["status"] == "completed"
    assert body["model"] == MODEL
    kinds = [item["type"] for item in body["output"]]
    assert kinds == ["message", "function_call"]
    assert body["output"][0]["content"][0]["text"] == "Checking."
    call = body["output"][1]
    assert (call["call_id"], call["name"], call["arguments"]) == (
        "tooluse_1",
        "weather",
        '{"city":"Oslo"}',
    )
    assert body["usage"]["input_tokens"] == 14


def test_the_model_a_prompt_router_invoked_is_reported() -> None:
    routed = answer() | {"trace": {"promptRouter": {"invokedModelId": "arn:model/x"}}}

    assert translate(Translation.CHAT_TO_BEDROCK, routed, model=MODEL)["model"] == "arn:model/x"


@pytest.mark.parametrize(
    ("stop", "chat", "anthropic"),
    [
        ("end_turn", "stop", "end_turn"),
        ("tool_use", "tool_calls", "tool_use"),
        ("max_tokens", "length", "max_tokens"),
        ("stop_sequence", "stop", "stop_sequence"),
        ("guardrail_intervened", "content_filter", "refusal"),
        ("content_filtered", "content_filter", "refusal"),
        ("model_context_window_exceeded", "length", "max_tokens"),
        ("something_new", "stop", "end_turn"),
    ],
)
def test_stop_reasons(stop: str, chat: str, anthropic: str) -> None:
    chat_body = translate(Translation.CHAT_TO_BEDROCK, answer(stop=stop))
    messages_body = translate(Translation.MESSAGES_TO_BEDROCK, answer(stop=stop))

    assert chat_body["choices"][0]["finish_reason"] == chat
    assert messages_body["stop_reason"] == anthropic


@pytest.mark.parametrize(
    ("status", "body", "openai_type", "anthropic_type"),
    [
        (400, {"message": "bad input"}, "invalid_request_error", "invalid_request_error"),
        (403, {"message": "bad input"}, "permission_error", "permission_error"),
        (404, {"message": "bad input"}, "not_found_error", "not_found_error"),
        (408, {"message": "bad input"}, "server_error", "api_error"),
        (424, {"message": "bad input"}, "server_error", "api_error"),
        (429, {"message": "bad input"}, "rate_limit_error", "rate_limit_error"),
        (500, {"message": "bad input"}, "server_error", "api_error"),
        (503, {"message": "bad input"}, "server_error", "overloaded_error"),
        (
            400,
            {"__type": "com.amazon.coral#ThrottlingException", "message": "bad input"},
            "rate_limit_error",
            "rate_limit_error",
        ),
        (
            400,
            {"Message": "bad input", "code": "AccessDeniedException"},
            "permission_error",
            "permission_error",
        ),
        (502, {"error": {"code": "x", "message": "bad input"}}, "server_error", "api_error"),
    ],
)
def test_errors_by_status_and_type(
    status: int, body: dict[str, Any], openai_type: str, anthropic_type: str
) -> None:
    chat = translate(Translation.CHAT_TO_BEDROCK, body, status=status)
    messages = translate(Translation.MESSAGES_TO_BEDROCK, body, status=status)
    responses = translate(Translation.RESPONSES_TO_BEDROCK, body, status=status)

    assert (chat["error"]["type"], chat["error"]["message"]) == (openai_type, "bad input")
    assert messages["error"] == {"type": anthropic_type, "message": "bad input"}
    assert responses["error"]["message"] == "bad input"


def test_an_error_without_a_message_says_the_status() -> None:
    chat = translate(Translation.CHAT_TO_BEDROCK, {}, status=500)

    assert chat["error"]["message"] == "the upstream answered HTTP 500"


def test_a_non_json_error_is_quoted() -> None:
    messages = translate(Translation.MESSAGES_TO_BEDROCK, b"<html>gateway</html>", status=502)

    assert messages["error"]["message"] == "the upstream answered HTTP 502: <html>gateway</html>"


def test_a_success_without_output_is_an_empty_answer() -> None:
    body = translate(Translation.CHAT_TO_BEDROCK, {"stopReason": "end_turn"})

    assert body["choices"][0]["message"]["content"] in (None, "")
    assert body["usage"]["total_tokens"] == 0
