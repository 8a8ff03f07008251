from __future__ import annotations

from typing import Any

import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import Message, Role, ToolCall
from tests.wire.support import assert_invalid, parse

CHAT = ClientApi.CHAT


def test_minimal_request() -> None:
    parsed = parse(CHAT, {"messages": [{"role": "user", "content": "hi"}]})

    assert parsed.api is CHAT
    assert parsed.model is None
    assert parsed.stream is False
    assert parsed.inline_routes is None
    assert parsed.messages == (Message(Role.USER, "hi"),)


def test_rich_multi_turn_conversation_with_tools_and_images() -> None:
    body = {
        "model": "openai/gpt-4o",
        "stream": True,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "dev note"}]},
            {
                "role": "user",
                "name": "ann",
                "content": [
                    {"type": "text", "text": "what is in"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
                    {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                    {"type": "file", "file": {"file_id": "f1"}},
                    {"type": "text", "text": "this picture?"},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "look", "arguments": '{"zoom": 2}'},
                    },
                    {"id": "call_2", "type": "custom", "custom": {"name": "grep", "input": "x"}},
                    {"id": "call_3", "function": {"name": "untyped", "arguments": "{}"}},
                    {"id": "call_4", "type": "future_kind", "future_kind": {}},
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": [{"type": "text", "text": "a cat"}],
            },
            {"role": "function", "name": "legacy", "content": "old result"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
            {"role": "assistant", "content": "It is a cat."},
            {"role": "assistant"},
            {"role": "user", "content": []},
            {"role": "user", "content": "thanks 🐱"},
        ],
    }

    parsed = parse(CHAT, body)

    assert parsed.model == "openai/gpt-4o"
    assert parsed.stream is True
    assert parsed.body == body
    assert parsed.messages == (
        Message(Role.SYSTEM, "be brief"),
        Message(Role.DEVELOPER, "dev note"),
        Message(Role.USER, "what is in\nthis picture?"),
        Message(
            Role.ASSISTANT,
            "",
            tool_calls=(
                ToolCall("call_1", "look", '{"zoom": 2}'),
                ToolCall("call_2", "grep", "x"),
                ToolCall("call_3", "untyped", "{}"),
            ),
        ),
        Message(Role.TOOL, "a cat", tool_call_id="call_1"),
        Message(Role.TOOL, "old result"),
        Message(Role.ASSISTANT, ""),
        Message(Role.ASSISTANT, "It is a cat."),
        Message(Role.ASSISTANT, ""),
        Message(Role.USER, ""),
        Message(Role.USER, "thanks 🐱"),
    )


def test_explicit_nulls_mean_absent() -> None:
    parsed = parse(
        CHAT,
        {
            "model": None,
            "stream": None,
            "messages": [{"role": "assistant", "content": "x", "tool_calls": None}],
        },
    )

    assert (parsed.model, parsed.stream) == (None, False)
    assert parsed.messages == (Message(Role.ASSISTANT, "x"),)


def _with_message(message: object) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "first"}, message]}


@pytest.mark.parametrize(
    ("body", "message", "reason"),
    [
        ({}, "messages: required field is missing", "missing_field"),
        ({"messages": None}, "messages: expected a list of messages, got null", "wrong_type"),
        ({"messages": {}}, "messages: expected a list of messages, got object", "wrong_type"),
        ({"messages": []}, "messages: must contain at least one message", "invalid_value"),
        (_with_message("hi"), "messages[1]: expected a message object, got string", "wrong_type"),
        (
            _with_message({"content": "x"}),
            "messages[1].role: required field is missing",
            "missing_field",
        ),
        (
            _with_message({"role": 1, "content": "x"}),
            "messages[1].role: expected a string, got number",
            "wrong_type",
        ),
        (
            _with_message({"role": "bot", "content": "x"}),
            'messages[1].role: unknown role "bot"; '
            "expected one of system, developer, user, assistant, tool, function",
            "invalid_value",
        ),
        (
            _with_message({"role": "user"}),
            "messages[1].content: required field is missing",
            "missing_field",
        ),
        (
            _with_message({"role": "user", "content": None}),
            "messages[1].content: expected a string or a list of content parts, got null",
            "wrong_type",
        ),
        (
            _with_message({"role": "user", "content": 3.5}),
            "messages[1].content: expected a string or a list of content parts, got number",
            "wrong_type",
        ),
        (
            _with_message({"role": "assistant", "content": True}),
            "messages[1].content: expected a string or a list of content parts, got boolean",
            "wrong_type",
        ),
        (
            _with_message({"role": "user", "content": ["text"]}),
            "messages[1].content[0]: expected a content part object, got string",
            "wrong_type",
        ),
        (
            _with_message({"role": "user", "content": [{"text": "x"}]}),
            "messages[1].content[0].type: required field is missing",
            "missing_field",
        ),
        (
            _with_message({"role": "user", "content": [{"type": None}]}),
            "messages[1].content[0].type: expected a string, got null",
            "wrong_type",
        ),
        (
            _with_message({"role": "user", "content": [{"type": "text"}]}),
            "messages[1].content[0].text: required field is missing",
            "missing_field",
        ),
        (
            _with_message({"role": "user", "content": [{"type": "text", "text": ["x"]}]}),
            "messages[1].content[0].text: expected a string, got array",
            "wrong_type",
        ),
        (
            _with_message({"role": "tool", "content": "r"}),
            "messages[1].tool_call_id: required field is missing",
            "missing_field",
        ),
        (
            _with_message({"role": "tool", "content": "r", "tool_call_id": 7}),
            "messages[1].tool_call_id: expected a string, got number",
            "wrong_type",
        ),
        (
            _with_message({"role": "assistant", "tool_calls": {}}),
            "messages[1].tool_calls: expected a list of tool calls, got object",
            "wrong_type",
        ),
        (
            _with_message({"role": "assistant", "tool_calls": [None]}),
            "messages[1].tool_calls[0]: expected a tool call object, got null",
            "wrong_type",
        ),
        (
            _with_message({"role": "assistant", "tool_calls": [{"type": 1}]}),
            "messages[1].tool_calls[0].type: expected a string, got number",
            "wrong_type",
        ),
        (
            _with_message({"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}),
            "messages[1].tool_calls[0].function: required field is missing",
            "missing_field",
        ),
        (
            _with_message({"role": "assistant", "tool_calls": [{"id": "c", "function": "f"}]}),
            "messages[1].tool_calls[0].function: expected an object, got string",
            "wrong_type",
        ),
        (
            _with_message({"role": "assistant", "tool_calls": [{"function": {}}]}),
            "messages[1].tool_calls[0].id: required field is missing",
            "missing_field",
        ),
        (
            _with_message(
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}
            ),
            "messages[1].tool_calls[0].function.name: required field is missing",
            "missing_field",
        ),
        (
            _with_message(
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
                }
            ),
            "messages[1].tool_calls[0].function.arguments: expected a string, got object",
            "wrong_type",
        ),
        (
            _with_message(
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "type": "custom", "custom": {"name": "g"}}],
                }
            ),
            "messages[1].tool_calls[0].custom.input: required field is missing",
            "missing_field",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "model": 4},
            "model: expected a string, got number",
            "wrong_type",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "stream": "yes"},
            "stream: expected a boolean, got string",
            "wrong_type",
        ),
    ],
)
def test_invalid_request(body: dict[str, Any], message: str, reason: str) -> None:
    assert_invalid(CHAT, body, message, reason)
