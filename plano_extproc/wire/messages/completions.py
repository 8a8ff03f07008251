"""Non-streamed Anthropic Messages answers ⇄ the neutral Completion.

Reading drops thinking and server-tool blocks. Writing sends a tool call's arguments as its
`input` object; arguments that are not a JSON object (a model cut off mid-call) are kept under
RAW_ARGUMENTS_KEY rather than lost.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.ir import Completion, StopReason, Text, ToolCall
from plano_extproc.wire.lenient import as_dict, as_list, as_str, json_text
from plano_extproc.wire.messages.common import (
    anthropic_stop_reason,
    anthropic_usage,
    sendable,
    stop_reason,
    tool_input,
    usage_from_anthropic,
)

RAW_ARGUMENTS_KEY = "_raw"


def read_messages_completion(body: dict[str, Any], *, created: int) -> Completion:
    content: list[Text | ToolCall] = []
    for value in as_list(body.get("content")):
        block = as_dict(value)
        kind = block.get("type")
        if kind == "text":
            content.append(Text(as_str(block.get("text"))))
        elif kind == "tool_use":
            content.append(tool_call(block))
    return Completion(
        id=as_str(body.get("id")),
        model=as_str(body.get("model")),
        created=created,
        content=tuple(content),
        stop=stop_reason(body.get("stop_reason")) or StopReason.END_TURN,
        usage=usage_from_anthropic(body.get("usage")),
        stop_sequence=as_str(body.get("stop_sequence")) or None,
    )


def tool_call(block: dict[str, Any]) -> ToolCall:
    """A `tool_use` block as a call; its input is written out as JSON arguments."""
    return ToolCall(
        id=as_str(block.get("id")),
        name=as_str(block.get("name")),
        arguments=json_text(as_dict(block.get("input"))),
    )


def write_messages_completion(completion: Completion) -> dict[str, Any]:
    return {
        "id": completion.id,
        "type": "message",
        "role": "assistant",
        "model": completion.model,
        "content": [_block(part) for part in completion.content if sendable(part)],
        "stop_reason": anthropic_stop_reason(completion.stop),
        "stop_sequence": completion.stop_sequence,
        "usage": anthropic_usage(completion.usage),
    }


def _block(part: Text | ToolCall) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    arguments = tool_input(part.arguments)
    return {
        "type": "tool_use",
        "id": part.id,
        "name": part.name,
        "input": {RAW_ARGUMENTS_KEY: part.arguments} if arguments is None else arguments,
    }
