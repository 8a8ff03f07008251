from __future__ import annotations

from typing import Any

import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import Message, Role, ToolCall, parse_body
from tests.wire.support import assert_invalid, parse

MESSAGES = ClientApi.MESSAGES


def test_minimal_request() -> None:
    parsed = parse(MESSAGES, {"max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})

    assert parsed.api is MESSAGES
    assert (parsed.model, parsed.stream, parsed.inline_routes) == (None, False, None)
    assert parsed.messages == (Message(Role.USER, "hi"),)


def test_rich_multi_turn_conversation_with_tools_images_and_system() -> None:
    body = {
        "model": "anthropic/claude-sonnet-4-20250514",
        "max_tokens": 1024,
        "stream": True,
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Answer in French."},
        ],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "data": "AA=="}},
                    {"type": "document", "source": {"type": "text", "data": "doc"}},
                    {"type": "text", "text": "What's the weather"},
                    {"type": "text", "text": "in Paris?"},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "need a tool", "signature": "s"},
                    {"type": "redacted_thinking", "data": "x"},
                    {"type": "text", "text": "Let me check."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "weather",
                        "input": {"city": "Paris", "unit": "°C", "days": [1, 2]},
                    },
                    {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"},
                    {"type": "text", "text": "And tomorrow?"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "clock"},
                            {"type": "image", "source": {}},
                            {"type": "text", "text": "broken"},
                        ],
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_3", "name": "w", "input": {}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_3"}]},
            {"role": "assistant", "content": "Sunny."},
            {"role": "user", "content": [{"type": "image", "source": {}}]},
        ],
    }

    parsed = parse(MESSAGES, body)

    assert parsed.model == "anthropic/claude-sonnet-4-20250514"
    assert parsed.stream is True
    assert parsed.messages == (
        Message(Role.SYSTEM, "You are terse.\nAnswer in French."),
        Message(Role.USER, "What's the weather\nin Paris?"),
        Message(
            Role.ASSISTANT,
            "Let me check.",
            tool_calls=(
                ToolCall("toolu_1", "weather", '{"city":"Paris","unit":"°C","days":[1,2]}'),
                ToolCall("toolu_2", "clock", "{}"),
            ),
        ),
        Message(Role.TOOL, "18°C", tool_call_id="toolu_1"),
        Message(Role.TOOL, "clock\nbroken", tool_call_id="toolu_2"),
        Message(Role.USER, "And tomorrow?"),
        Message(Role.ASSISTANT, "", tool_calls=(ToolCall("toolu_3", "w", "{}"),)),
        # A user turn holding only tool results adds no empty user message.
        Message(Role.TOOL, "", tool_call_id="toolu_3"),
        Message(Role.ASSISTANT, "Sunny."),
        Message(Role.USER, ""),
    )


def test_string_system_and_null_system() -> None:
    base = {"max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}

    with_system = parse(MESSAGES, {**base, "system": "rules"})
    null_system = parse(MESSAGES, {**base, "system": None})

    assert with_system.messages == (Message(Role.SYSTEM, "rules"), Message(Role.USER, "q"))
    assert null_system.messages == (Message(Role.USER, "q"),)


def _body(*messages: object, **fields: object) -> dict[str, Any]:
    return {
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "first"}, *messages],
        **fields,
    }


@pytest.mark.parametrize(
    ("body", "message", "reason"),
    [
        (
            {"messages": [{"role": "user", "content": "x"}]},
            "max_tokens: required field is missing",
            "missing_field",
        ),
        (
            _body(max_tokens="10"),
            "max_tokens: expected a positive integer, got string",
            "wrong_type",
        ),
        (
            _body(max_tokens=1.5),
            "max_tokens: expected a positive integer, got number",
            "wrong_type",
        ),
        (
            _body(max_tokens=True),
            "max_tokens: expected a positive integer, got boolean",
            "wrong_type",
        ),
        (_body(max_tokens=0), "max_tokens: expected a positive integer, got 0", "invalid_value"),
        (_body(max_tokens=-3), "max_tokens: expected a positive integer, got -3", "invalid_value"),
        ({"max_tokens": 1}, "messages: required field is missing", "missing_field"),
        (
            {"max_tokens": 1, "messages": "hi"},
            "messages: expected a list of messages, got string",
            "wrong_type",
        ),
        (
            {"max_tokens": 1, "messages": []},
            "messages: must contain at least one message",
            "invalid_value",
        ),
        (
            _body(system=3),
            "system: expected a string or a list of content parts, got number",
            "wrong_type",
        ),
        (
            _body(system=[{"type": "text"}]),
            "system[0].text: required field is missing",
            "missing_field",
        ),
        (_body(7), "messages[1]: expected a message object, got number", "wrong_type"),
        (
            _body({"role": "system", "content": "x"}),
            'messages[1].role: unknown role "system"; expected one of user, assistant',
            "invalid_value",
        ),
        (
            _body({"role": "user"}),
            "messages[1].content: required field is missing",
            "missing_field",
        ),
        (
            _body({"role": "user", "content": None}),
            "messages[1].content: expected a string or a list of content parts, got null",
            "wrong_type",
        ),
        (
            _body({"role": "user", "content": [[]]}),
            "messages[1].content[0]: expected a content part object, got array",
            "wrong_type",
        ),
        (
            _body({"role": "user", "content": [{"type": "text", "text": 1}]}),
            "messages[1].content[0].text: expected a string, got number",
            "wrong_type",
        ),
        (
            _body(
                {
                    "role": "user",
                    "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}],
                }
            ),
            "messages[1].content[0]: tool_use blocks are only allowed in assistant messages",
            "invalid_value",
        ),
        (
            _body({"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}),
            "messages[1].content[0]: tool_result blocks are only allowed in user messages",
            "invalid_value",
        ),
        (
            _body({"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n"}]}),
            "messages[1].content[0].input: required field is missing",
            "missing_field",
        ),
        (
            _body(
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": "n", "input": "{}"}],
                }
            ),
            "messages[1].content[0].input: expected an object, got string",
            "wrong_type",
        ),
        (
            _body(
                {"role": "assistant", "content": [{"type": "tool_use", "name": "n", "input": {}}]}
            ),
            "messages[1].content[0].id: required field is missing",
            "missing_field",
        ),
        (
            _body(
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t", "name": 2, "input": {}}],
                }
            ),
            "messages[1].content[0].name: expected a string, got number",
            "wrong_type",
        ),
        (
            _body({"role": "user", "content": [{"type": "tool_result", "content": "r"}]}),
            "messages[1].content[0].tool_use_id: required field is missing",
            "missing_field",
        ),
        (
            _body(
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "content": {}}],
                }
            ),
            "messages[1].content[0].content: "
            "expected a string or a list of content parts, got object",
            "wrong_type",
        ),
        (
            _body(
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text"}]}
                    ],
                }
            ),
            "messages[1].content[0].content[0].text: required field is missing",
            "missing_field",
        ),
    ],
)
def test_invalid_request(body: dict[str, Any], message: str, reason: str) -> None:
    assert_invalid(MESSAGES, body, message, reason)


def test_deeply_nested_tool_input_is_still_serialized() -> None:
    deep: Any = {}
    for _ in range(300):
        deep = {"a": deep}
    body = _body(
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t", "name": "n", "input": deep}],
        }
    )

    (call,) = parse_body(MESSAGES, body).messages[1].tool_calls

    assert call.arguments == '{"a":' * 300 + "{}" + "}" * 300
