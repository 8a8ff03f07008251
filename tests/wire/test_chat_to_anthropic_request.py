"""A Chat Completions client routed to Anthropic: the request."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.wire import UNTRANSLATABLE, InvalidRequest, Translation
from tests.wire.support import translated_body

MODEL = "claude-sonnet-4"


def translate(body: dict[str, Any]) -> dict[str, Any]:
    raw = translated_body(Translation.CHAT_TO_ANTHROPIC, body, model=MODEL)
    result: dict[str, Any] = orjson.loads(raw)
    return result


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def test_minimal_request_gets_model_and_default_max_tokens() -> None:
    body = {
        "model": "anthropic/claude",
        "messages": [user("hi")],
        "routing_preferences": [{"name": "x"}],
        "routing_policy": [],
    }

    assert translate(body) == {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


def test_conversation_with_tools_images_and_settings() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "dev note"}]},
            user(
                [
                    {"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                    {"type": "image_url", "image_url": "https://x.test/a.jpg"},
                ]
            ),
            {
                "role": "assistant",
                "content": "calling",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get", "arguments": '{"city": "Paris"}'},
                    },
                    {"id": "call_2", "function": {"name": "now", "arguments": ""}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "9"}]},
            user("thanks"),
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
        ],
        "max_completion_tokens": 100,
        "max_tokens": 5,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": ["END", "STOP"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get",
                    "description": "weather",
                    "parameters": {"type": "object"},
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "get"}},
        "parallel_tool_calls": False,
        "user": "u-1",
        "seed": 3,
        "logprobs": True,
        "frequency_penalty": 0.5,
        "n": 1,
        "response_format": {"type": "text"},
    }

    assert translate(body) == {
        "model": MODEL,
        "max_tokens": 100,
        "system": [{"type": "text", "text": "be brief"}, {"type": "text", "text": "dev note"}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "calling"},
                    {"type": "tool_use", "id": "call_1", "name": "get", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_1",
                        "content": [{"type": "text", "text": "sunny"}],
                    },
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_2",
                        "content": [{"type": "text", "text": "9"}],
                    },
                    {"type": "text", "text": "thanks"},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "no"}]},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END", "STOP"],
        "stream": True,
        "metadata": {"user_id": "u-1"},
        "tools": [
            {"name": "get", "description": "weather", "input_schema": {"type": "object"}},
            {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "tool", "name": "get", "disable_parallel_tool_use": True},
    }


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("none", False, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (None, True, None),
    ],
)
def test_tool_choice(choice: str | None, parallel: bool | None, expected: Any) -> None:
    tool = {"type": "function", "function": {"name": "f"}}
    body = {"messages": [user("x")], "tools": [tool], "tool_choice": choice}
    if parallel is not None:
        body["parallel_tool_calls"] = parallel

    assert translate(body).get("tool_choice") == expected


def test_tool_choice_without_tools_is_not_sent() -> None:
    assert "tool_choice" not in translate({"messages": [user("x")], "tool_choice": "none"})


def test_stop_string_and_temperature_clamp() -> None:
    out = translate({"messages": [user("x")], "stop": "END", "temperature": 1.7})

    assert (out["stop_sequences"], out["temperature"]) == (["END"], 1.0)


def test_same_role_turns_are_merged_and_empty_text_dropped() -> None:
    body = {
        "messages": [
            user("a"),
            user([{"type": "text", "text": ""}, {"type": "text", "text": "b"}]),
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": None, "tool_calls": []},
            {"role": "assistant", "content": "c"},
        ]
    }

    assert translate(body)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "c"}]},
    ]


def test_tool_results_move_before_text_in_a_merged_user_turn() -> None:
    body = {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}],
            },
            user("before"),
            {"role": "tool", "tool_call_id": "c", "content": ""},
        ]
    }

    assert translate(body)["messages"][1] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "c", "content": []},
            {"type": "text", "text": "before"},
        ],
    }


def test_a_single_system_message_is_a_plain_string() -> None:
    body = {
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "a"}]},
            {"role": "developer", "content": ""},
            user("x"),
        ]
    }

    assert translate(body)["system"] == "a"


def test_empty_system_messages_send_no_system() -> None:
    assert "system" not in translate({"messages": [{"role": "system", "content": ""}, user("x")]})


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequest) as caught:
        translate(body)
    assert caught.value.status == 400
    return f"{caught.value.reason}: {caught.value.message}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"n": 2}, "n: only one choice can be generated upstream"),
        (
            {"response_format": {"type": "json_object"}},
            "response_format: the upstream has no JSON output mode",
        ),
        ({"functions": [{"name": "f"}]}, "functions: deprecated; send `tools` instead"),
        (
            {"tools": [{"type": "custom", "custom": {"name": "g"}}]},
            'tools[0].type: "custom" tools have no upstream equivalent',
        ),
        (
            {"tool_choice": {"type": "allowed_tools"}, "tools": []},
            'tool_choice.type: "allowed_tools" has no upstream equivalent',
        ),
    ],
)
def test_untranslatable_fields_are_refused(extra: dict[str, Any], message: str) -> None:
    assert refused({"messages": [user("x")], **extra}) == f"{UNTRANSLATABLE}: {message}"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            {"role": "function", "name": "f", "content": "x"},
            'messages[0].role: the "function" role has no upstream equivalent',
        ),
        (
            user([{"type": "input_audio", "input_audio": {}}]),
            'messages[0].content[0]: content of type "input_audio" has no upstream equivalent',
        ),
        (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c", "type": "custom", "custom": {"name": "grep", "input": "x"}}
                ],
            },
            'messages[0].tool_calls[0].type: "custom" tool calls have no upstream equivalent',
        ),
        (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c9", "function": {"name": "f", "arguments": "[1]"}}],
            },
            "tool call 'c9': arguments must be a JSON object to be sent upstream",
        ),
        (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c9", "function": {"name": "f", "arguments": "{bad"}}],
            },
            "tool call 'c9': arguments must be a JSON object to be sent upstream",
        ),
        (
            user([{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]),
            "image_url: 'ftp://x/y.png' is neither an http(s) URL nor a base64 data URL",
        ),
        (
            user([{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]),
            "image_url: 'data:image/png,raw' is neither an http(s) URL nor a base64 data URL",
        ),
    ],
)
def test_untranslatable_messages_are_refused(message: dict[str, Any], expected: str) -> None:
    assert refused({"messages": [message]}) == f"{UNTRANSLATABLE}: {expected}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"messages": [user("x")], "temperature": "hot"}, "temperature: expected a number"),
        ({"messages": [user("x")], "temperature": True}, "temperature: expected a number"),
        ({"messages": [user("x")], "max_tokens": 0}, "max_tokens: expected a positive integer"),
        ({"messages": [user("x")], "max_tokens": 1.5}, "max_tokens: expected a positive integer"),
        ({"messages": [user("x")], "stop": 3}, "stop: expected a string or a list of strings"),
        ({"messages": [user("x")], "stop": ["a", 1]}, "stop[1]: expected a string"),
        ({"messages": [user("x")], "tools": {}}, "tools: expected a list of tools"),
        ({"messages": [user("x")], "tool_choice": "maybe"}, 'tool_choice: unknown value "maybe"'),
        ({"messages": [user("x")], "tool_choice": 3}, "tool_choice: expected a string or an"),
        ({"messages": [user("x")], "parallel_tool_calls": 1}, "parallel_tool_calls: expected a"),
        ({"messages": [user("x")], "response_format": "json"}, "response_format: expected an obj"),
        ({"messages": [user("x")], "response_format": {"type": []}}, "response_format.type: exp"),
        ({"messages": [user(3)]}, "messages[0].content: expected a string or a list"),
        ({"messages": [user([{"type": "image_url"}])]}, "messages[0].content[0].image_url: req"),
        (
            {
                "messages": [user("x")],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}],
            },
            "tools[0].function.parameters: expected an object",
        ),
    ],
)
def test_malformed_fields_are_reported_with_their_path(body: dict[str, Any], expected: str) -> None:
    assert refused(body).split(": ", 1)[1].startswith(expected)
