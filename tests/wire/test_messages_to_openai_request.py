"""An Anthropic Messages client routed to an OpenAI-compatible upstream: the request."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.wire import UNTRANSLATABLE, InvalidRequest, Translation
from tests.wire.support import translated_body

MODEL = "gpt-4o"


def translate(body: dict[str, Any]) -> dict[str, Any]:
    raw = translated_body(Translation.MESSAGES_TO_OPENAI, body, model=MODEL)
    result: dict[str, Any] = orjson.loads(raw)
    return result


def test_minimal_request() -> None:
    body = {
        "model": "x",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        "routing_preferences": [],
    }

    assert translate(body) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 64,
    }


def test_conversation_with_tools_images_thinking_and_settings() -> None:
    body = {
        "max_tokens": 500,
        "system": [
            {"type": "text", "text": "you are helpful", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "be brief"},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/i.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "..."},
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "zoom", "input": {"level": 2}},
                    {"type": "tool_use", "id": "toolu_2", "name": "crop", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "zoomed"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "cropped"},
                            {"type": "text", "text": "badly"},
                            {
                                "type": "image",
                                "source": {"type": "url", "url": "https://x.test/c.png"},
                            },
                        ],
                    },
                    {"type": "text", "text": "and now?"},
                ],
            },
            {"role": "assistant", "content": "A cat."},
        ],
        "stop_sequences": ["\n\nHuman:"],
        "temperature": 0.5,
        "top_p": 0.8,
        "top_k": 40,
        "stream": True,
        "tools": [
            {
                "name": "zoom",
                "description": "zoom in",
                "input_schema": {"type": "object", "properties": {"level": {"type": "integer"}}},
            },
            {"type": "custom", "name": "crop", "input_schema": {"type": "object"}},
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "metadata": {"user_id": "user-9"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }

    assert translate(body) == {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "you are helpful\n\nbe brief"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/"}},
                    {"type": "image_url", "image_url": {"url": "https://x.test/i.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "zoom", "arguments": '{"level":2}'},
                    },
                    {
                        "id": "toolu_2",
                        "type": "function",
                        "function": {"name": "crop", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "zoomed"},
            {
                "role": "tool",
                "tool_call_id": "toolu_2",
                "content": [{"type": "text", "text": "cropped"}, {"type": "text", "text": "badly"}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://x.test/c.png"}},
                    {"type": "text", "text": "and now?"},
                ],
            },
            {"role": "assistant", "content": "A cat."},
        ],
        "max_completion_tokens": 500,
        "temperature": 0.5,
        "top_p": 0.8,
        "stop": ["\n\nHuman:"],
        "user": "user-9",
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "zoom",
                    "description": "zoom in",
                    "parameters": {"type": "object", "properties": {"level": {"type": "integer"}}},
                },
            },
            {"type": "function", "function": {"name": "crop", "parameters": {"type": "object"}}},
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }


@pytest.mark.parametrize(
    ("choice", "expected_choice", "expected_parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "none"}, "none", None),
        ({"type": "any", "disable_parallel_tool_use": False}, "required", True),
        ({"type": "tool", "name": "f"}, {"type": "function", "function": {"name": "f"}}, None),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected_choice: Any, expected_parallel: Any) -> None:
    body = {
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": choice,
    }

    out = translate(body)

    assert (out["tool_choice"], out.get("parallel_tool_calls")) == (
        expected_choice,
        expected_parallel,
    )


def test_thinking_only_assistant_turn_and_empty_tool_result() -> None:
    body = {
        "max_tokens": 1,
        "messages": [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "...", "signature": "s"},
                    {"type": "tool_use", "id": "t", "name": "f", "input": {}},
                ],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]},
        ],
    }

    assert translate(body)["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "t", "content": ""},
    ]


def test_system_as_a_string() -> None:
    body = {"max_tokens": 1, "system": "s", "messages": [{"role": "user", "content": "x"}]}

    assert translate(body)["messages"][0] == {"role": "system", "content": "s"}


def refused(body: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequest) as caught:
        translate({"max_tokens": 1, **body})
    return f"{caught.value.reason}: {caught.value.message}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            },
            f'{UNTRANSLATABLE}: tools[0].type: "web_search_20250305" tools have no upstream '
            "equivalent",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "text", "data": "d"}}],
                    }
                ]
            },
            f'{UNTRANSLATABLE}: messages[0].content[0]: "document" blocks in user turns have no '
            "upstream equivalent",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
                    }
                ]
            },
            # Refused as the request is read, before any translation, as clients always saw it.
            "invalid_value: messages[0].content[0]: tool_use blocks are only allowed in assistant "
            "messages",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "file", "file_id": "f_1"}}
                        ],
                    }
                ]
            },
            f"{UNTRANSLATABLE}: messages[0].content[0].source: only base64 and url image sources "
            "can be translated",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "maybe"}},
            'invalid_value: tool_choice.type: unknown tool choice "maybe"; expected one of auto, '
            "none, any, tool",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "stop_sequences": "END"},
            "wrong_type: stop_sequences: expected a list, got string",
        ),
        (
            {"messages": [{"role": "user", "content": 7}]},
            "wrong_type: messages[0].content: expected a string or a list of content parts, got "
            "number",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "tools": [{"name": "f"}]},
            "missing_field: tools[0].input_schema: required field is missing",
        ),
    ],
)
def test_refused(body: dict[str, Any], expected: str) -> None:
    assert refused(body) == expected
