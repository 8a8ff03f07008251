from __future__ import annotations

from typing import Any

import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import Message, Role, ToolCall
from tests.wire.support import assert_invalid, parse

RESPONSES = ClientApi.RESPONSES


def test_minimal_string_input() -> None:
    parsed = parse(RESPONSES, {"input": "hello"})

    assert parsed.api is RESPONSES
    assert (parsed.model, parsed.stream, parsed.inline_routes) == (None, False, None)
    assert parsed.messages == (Message(Role.USER, "hello"),)


def test_instructions_become_a_leading_system_message() -> None:
    parsed = parse(RESPONSES, {"model": "openai/gpt-4o", "instructions": "be kind", "input": "hi"})

    assert parsed.model == "openai/gpt-4o"
    assert parsed.messages == (Message(Role.SYSTEM, "be kind"), Message(Role.USER, "hi"))


def test_rich_item_list() -> None:
    body = {
        "stream": True,
        "instructions": None,
        "input": [
            {"role": "developer", "content": "dev rules"},
            {"role": "system", "content": [{"type": "input_text", "text": "sys"}]},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "describe"},
                    {"type": "input_image", "image_url": "https://x/cat.png"},
                    {"type": "input_file", "file_id": "file_1"},
                    {"type": "input_audio", "input_audio": {"data": "AA=="}},
                    {"type": "text", "text": "this"},
                ],
            },
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Calling a tool.", "annotations": []},
                    {"type": "refusal", "refusal": "nope"},
                ],
            },
            {"type": "function_call", "call_id": "call_1", "name": "look", "arguments": "{}"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a cat"},
            {
                "type": "function_call_output",
                "call_id": "call_2",
                "output": [
                    {"type": "input_text", "text": "part one"},
                    {"type": "input_image", "image_url": "https://x"},
                ],
            },
            {"type": "item_reference", "id": "msg_0"},
            {"type": None, "role": "user", "content": "thanks"},
        ],
    }

    parsed = parse(RESPONSES, body)

    assert parsed.stream is True
    assert parsed.messages == (
        Message(Role.DEVELOPER, "dev rules"),
        Message(Role.SYSTEM, "sys"),
        Message(Role.USER, "describe\nthis"),
        Message(Role.ASSISTANT, "Calling a tool."),
        Message(Role.ASSISTANT, "", tool_calls=(ToolCall("call_1", "look", "{}"),)),
        Message(Role.TOOL, "a cat", tool_call_id="call_1"),
        Message(Role.TOOL, "part one", tool_call_id="call_2"),
        Message(Role.USER, "thanks"),
    )


@pytest.mark.parametrize(
    ("body", "message", "reason"),
    [
        ({}, "input: required field is missing", "missing_field"),
        (
            {"input": None},
            "input: expected a string or a list of input items, got null",
            "wrong_type",
        ),
        (
            {"input": 12},
            "input: expected a string or a list of input items, got number",
            "wrong_type",
        ),
        ({"input": []}, "input: must contain at least one item", "invalid_value"),
        (
            {"input": "x", "instructions": ["a"]},
            "instructions: expected a string, got array",
            "wrong_type",
        ),
        ({"input": ["hi"]}, "input[0]: expected an input item object, got string", "wrong_type"),
        ({"input": [{"type": 5}]}, "input[0].type: expected a string, got number", "wrong_type"),
        (
            {"input": [{"content": "x"}]},
            "input[0].role: required field is missing",
            "missing_field",
        ),
        (
            {"input": [{"type": "message", "role": "tool", "content": "x"}]},
            'input[0].role: unknown role "tool"; '
            "expected one of system, developer, user, assistant",
            "invalid_value",
        ),
        (
            {"input": [{"role": "user"}]},
            "input[0].content: required field is missing",
            "missing_field",
        ),
        (
            {"input": [{"role": "user", "content": {"type": "input_text"}}]},
            "input[0].content: expected a string or a list of content parts, got object",
            "wrong_type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text", "text": None}]}]},
            "input[0].content[0].text: expected a string, got null",
            "wrong_type",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id: required field is missing",
            "missing_field",
        ),
        (
            {"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]},
            "input[0].name: required field is missing",
            "missing_field",
        ),
        (
            {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}]},
            "input[0].arguments: expected a string, got object",
            "wrong_type",
        ),
        (
            {"input": [{"type": "function_call_output", "output": "x"}]},
            "input[0].call_id: required field is missing",
            "missing_field",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "c"}]},
            "input[0].output: required field is missing",
            "missing_field",
        ),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": 1}]},
            "input[0].output: expected a string or a list of content parts, got number",
            "wrong_type",
        ),
    ],
)
def test_invalid_request(body: dict[str, Any], message: str, reason: str) -> None:
    assert_invalid(RESPONSES, body, message, reason)
