"""An OpenAI Responses client routed to Anthropic: the request."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.wire import UNTRANSLATABLE, InvalidRequest, Translation
from tests.wire.support import translated_body

MODEL = "claude-haiku"


def translate(body: dict[str, Any]) -> dict[str, Any]:
    raw = translated_body(Translation.RESPONSES_TO_ANTHROPIC, body, model=MODEL)
    result: dict[str, Any] = orjson.loads(raw)
    return result


def test_string_input_with_instructions() -> None:
    body = {"model": "m", "input": "hi", "instructions": "be kind", "routing_preferences": []}

    assert translate(body) == {
        "model": MODEL,
        "max_tokens": 4096,
        "system": "be kind",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_items_tools_and_settings() -> None:
    body = {
        "instructions": "top",
        "input": [
            {"role": "developer", "content": "dev"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "weather and a picture?"},
                    {"type": "input_image", "image_url": "https://x.test/p.png", "detail": "low"},
                ],
            },
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
            },
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "weather",
                "arguments": '{"city":"Oslo"}',
            },
            {
                "type": "function_call",
                "call_id": "call_2",
                "name": "picture",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "cold"},
            {
                "type": "function_call_output",
                "call_id": "call_2",
                "output": [{"type": "input_image", "image_url": "data:image/gif;base64,R0lG"}],
            },
            {"role": "user", "content": [{"type": "input_text", "text": "so?"}]},
        ],
        "max_output_tokens": 256,
        "temperature": 0.3,
        "top_p": 0.5,
        "stream": True,
        "tools": [
            {
                "type": "function",
                "name": "weather",
                "description": "forecast",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "strict": True,
            },
            {"type": "function", "name": "picture", "parameters": None},
        ],
        "tool_choice": {"type": "function", "name": "weather"},
        "parallel_tool_calls": False,
        "user": "u",
        "store": False,
        "reasoning": {"effort": "low"},
        "text": {"format": {"type": "text"}},
    }

    assert translate(body) == {
        "model": MODEL,
        "max_tokens": 256,
        "system": [{"type": "text", "text": "top"}, {"type": "text", "text": "dev"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "weather and a picture?"},
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/p.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "weather",
                        "input": {"city": "Oslo"},
                    },
                    {"type": "tool_use", "id": "call_2", "name": "picture", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_1",
                        "content": [{"type": "text", "text": "cold"}],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_2",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/gif",
                                    "data": "R0lG",
                                },
                            }
                        ],
                    },
                    {"type": "text", "text": "so?"},
                ],
            },
        ],
        "temperature": 0.3,
        "top_p": 0.5,
        "stream": True,
        "metadata": {"user_id": "u"},
        "tools": [
            {
                "name": "weather",
                "description": "forecast",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
            {"name": "picture", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "tool", "name": "weather", "disable_parallel_tool_use": True},
    }


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequest) as caught:
        translate(body)
    return f"{caught.value.reason}: {caught.value.message}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"input": "x", "previous_response_id": "resp_1"},
            f"{UNTRANSLATABLE}: previous_response_id: stored conversation state cannot be used "
            "upstream without the gateway's state_storage",
        ),
        (
            {"input": "x", "conversation": "conv_1"},
            f"{UNTRANSLATABLE}: conversation: stored conversation state cannot be used upstream",
        ),
        (
            {"input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}},
            f"{UNTRANSLATABLE}: text.format: the upstream has no JSON output mode",
        ),
        (
            {"input": "x", "tools": [{"type": "web_search"}]},
            f'{UNTRANSLATABLE}: tools[0].type: "web_search" tools have no upstream equivalent',
        ),
        (
            {"input": [{"type": "item_reference", "id": "msg_1"}]},
            f'{UNTRANSLATABLE}: input[0].type: "item_reference" items have no upstream equivalent',
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
            f'{UNTRANSLATABLE}: input[0].content[0]: content of type "input_file" has no upstream '
            "equivalent",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]},
            f"{UNTRANSLATABLE}: input[0].content[0]: only images given by `image_url` can be sent "
            "upstream",
        ),
        ({"input": 5}, "wrong_type: input: expected a string or a list of input items, got number"),
        (
            {"input": [{"role": "tool", "content": "x"}]},
            'invalid_value: input[0].role: unknown role "tool"; '
            "expected one of system, developer, user, assistant",
        ),
        (
            {"input": "x", "max_output_tokens": -1},
            "invalid_value: max_output_tokens: expected a positive integer, got -1",
        ),
        (
            {"input": "x", "text": {"format": "json"}},
            "wrong_type: text.format: expected an object, got string",
        ),
    ],
)
def test_refused(body: dict[str, Any], expected: str) -> None:
    assert refused(body) == expected


def test_refusal_parts_and_tool_choice_strings() -> None:
    body = {
        "input": [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "cannot"}]},
        ],
        "tools": [{"type": "function", "name": "f"}],
        "tool_choice": "required",
    }

    out = translate(body)

    assert out["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "cannot"}],
    }
    assert out["tool_choice"] == {"type": "any"}
