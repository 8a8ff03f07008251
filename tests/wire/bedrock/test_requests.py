"""Chat, Messages and Responses clients routed to Bedrock Converse: the request body and path."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.wire import UNTRANSLATABLE, InvalidRequest, Translation
from tests.wire.support import translated_body

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PNG = "data:image/png;base64,iVBOR"
WEATHER_TOOL = {
    "name": "weather",
    "description": "the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEATHER_SPEC = {
    "toolSpec": {
        "name": "weather",
        "description": "the weather in a city",
        "inputSchema": {"json": WEATHER_TOOL["parameters"]},
    }
}


def translate(translation: Translation, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(translated_body(translation, body, model=MODEL))
    return result


def chat(body: dict[str, Any]) -> dict[str, Any]:
    return translate(Translation.CHAT_TO_BEDROCK, body)


def refusal(translation: Translation, body: dict[str, Any]) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        translate(translation, body)
    assert caught.value.reason == UNTRANSLATABLE
    return caught.value


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_minimal_chat_request_has_no_model_and_no_stream_flag() -> None:
    body = {"model": "bedrock/claude", "messages": [user("hi")], "stream": True}

    assert chat(body) == {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def test_chat_conversation_with_settings_tools_and_results() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "dev note"},
            user([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": PNG}]),
            user("and tell me the weather"),
            {
                "role": "assistant",
                "content": "calling",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "w", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": ""},
            user("thanks"),
        ],
        "max_completion_tokens": 100,
        "temperature": 1.5,
        "top_p": 0.9,
        "stop": ["END"],
        "tools": [{"type": "function", "function": WEATHER_TOOL}],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "user": "u-1",
    }

    assert chat(body) == {
        "system": [{"text": "be brief"}, {"text": "dev note"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"text": "look"},
                    {"image": {"format": "png", "source": {"bytes": "iVBOR"}}},
                    {"text": "and tell me the weather"},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"text": "calling"},
                    {
                        "toolUse": {
                            "toolUseId": "call_1",
                            "name": "weather",
                            "input": {"city": "Paris"},
                        }
                    },
                    {"toolUse": {"toolUseId": "call_2", "name": "w", "input": {}}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "call_1", "content": [{"text": "sunny"}]}},
                    {"toolResult": {"toolUseId": "call_2", "content": []}},
                    {"text": "thanks"},
                ],
            },
        ],
        "inferenceConfig": {
            "maxTokens": 100,
            "temperature": 1.0,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
        "toolConfig": {"tools": [WEATHER_SPEC], "toolChoice": {"any": {}}},
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"auto": {}}),
        ({"type": "function", "function": {"name": "weather"}}, {"tool": {"name": "weather"}}),
    ],
)
def test_chat_tool_choices(choice: Any, expected: dict[str, Any]) -> None:
    body = {
        "messages": [user("hi")],
        "tools": [{"type": "function", "function": WEATHER_TOOL}],
        "tool_choice": choice,
    }

    assert chat(body)["toolConfig"] == {"tools": [WEATHER_SPEC], "toolChoice": expected}


def test_tools_without_a_choice_leave_it_to_bedrock() -> None:
    body = {"messages": [user("hi")], "tools": [{"type": "function", "function": WEATHER_TOOL}]}

    assert chat(body)["toolConfig"] == {"tools": [WEATHER_SPEC]}


def test_tool_choice_none_leaves_the_tools_out() -> None:
    body = {
        "messages": [user("hi")],
        "tools": [{"type": "function", "function": WEATHER_TOOL}],
        "tool_choice": "none",
    }

    assert "toolConfig" not in chat(body)


TOOL_HISTORY = [
    user("weather?"),
    {
        "role": "assistant",
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "w", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c", "content": "sunny"},
]


@pytest.mark.parametrize(
    "extra",
    [{}, {"tools": [{"type": "function", "function": WEATHER_TOOL}], "tool_choice": "none"}],
)
def test_tool_history_without_usable_tools_is_refused(extra: dict[str, Any]) -> None:
    error = refusal(Translation.CHAT_TO_BEDROCK, {"messages": TOOL_HISTORY, **extra})

    assert error.message.startswith("tools: tool calls and results can only be sent")


@pytest.mark.parametrize(
    "url", ["https://x.test/a.png", "data:image/tiff;base64,AAAA", "data:image/png,raw"]
)
def test_images_converse_cannot_take_are_refused(url: str) -> None:
    body = {"messages": [user([{"type": "image_url", "image_url": {"url": url}}])]}

    assert refusal(Translation.CHAT_TO_BEDROCK, body).message.startswith("image_url: ")


def test_tool_arguments_that_are_not_an_object_are_refused() -> None:
    body = {
        "messages": [
            user("hi"),
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "w", "arguments": "[1]"}}
                ],
            },
        ],
        "tools": [{"type": "function", "function": WEATHER_TOOL}],
    }

    assert refusal(Translation.CHAT_TO_BEDROCK, body).message.startswith("tool call 'c'")


def test_what_the_chat_reader_refuses_is_refused_for_bedrock_too() -> None:
    refusal(Translation.CHAT_TO_BEDROCK, {"messages": [user("hi")], "n": 2})


def test_messages_request() -> None:
    body = {
        "model": "bedrock/claude",
        "max_tokens": 256,
        "system": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        "messages": [
            user("hi"),
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hm", "signature": "s"},
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}},
                ],
            },
            user(
                [
                    {"type": "text", "text": "here"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [
                            {"type": "text", "text": "cold"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/jpeg",
                                    "data": "/9j",
                                },
                            },
                        ],
                    },
                ]
            ),
        ],
        "stop_sequences": ["x"],
        "tools": [
            {
                "name": "weather",
                "description": "",
                "input_schema": {"type": "object"},
            }
        ],
        "tool_choice": {"type": "tool", "name": "weather"},
        "stream": True,
    }

    assert translate(Translation.MESSAGES_TO_BEDROCK, body) == {
        "system": [{"text": "one"}, {"text": "two"}],
        "messages": [
            {"role": "user", "content": [{"text": "hi"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "t1", "name": "weather", "input": {"city": "Oslo"}}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "toolResult": {
                            "toolUseId": "t1",
                            "content": [
                                {"text": "cold"},
                                {"image": {"format": "jpeg", "source": {"bytes": "/9j"}}},
                            ],
                        }
                    },
                    {"text": "here"},
                ],
            },
        ],
        "inferenceConfig": {"maxTokens": 256, "stopSequences": ["x"]},
        "toolConfig": {
            "tools": [
                {"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}
            ],
            "toolChoice": {"tool": {"name": "weather"}},
        },
    }


def test_responses_request() -> None:
    body = {
        "model": "bedrock/claude",
        "instructions": "be brief",
        "input": [
            {"role": "user", "content": "weather in Oslo?"},
            {
                "type": "function_call",
                "call_id": "fc_1",
                "name": "weather",
                "arguments": '{"city": "Oslo"}',
            },
            {"type": "function_call_output", "call_id": "fc_1", "output": "cold"},
        ],
        "tools": [{"type": "function", **WEATHER_TOOL}],
        "max_output_tokens": 50,
    }

    assert translate(Translation.RESPONSES_TO_BEDROCK, body) == {
        "system": [{"text": "be brief"}],
        "messages": [
            {"role": "user", "content": [{"text": "weather in Oslo?"}]},
            {
                "role": "assistant",
                "content": [
                    {"toolUse": {"toolUseId": "fc_1", "name": "weather", "input": {"city": "Oslo"}}}
                ],
            },
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "fc_1", "content": [{"text": "cold"}]}}],
            },
        ],
        "inferenceConfig": {"maxTokens": 50},
        "toolConfig": {"tools": [WEATHER_SPEC]},
    }


def test_responses_request_with_stored_state_is_refused() -> None:
    body = {"input": "hi", "previous_response_id": "resp_1"}

    refusal(Translation.RESPONSES_TO_BEDROCK, body)
