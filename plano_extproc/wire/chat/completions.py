"""Non-streamed Chat Completions answers ⇄ the neutral Completion."""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.chat.common import (
    chat_tool_call,
    chat_usage,
    finish_reason,
    stop_reason,
    usage_from_chat,
)
from plano_extproc.wire.ir import Completion, Text, ToolCall
from plano_extproc.wire.lenient import as_count, as_dict, as_list, as_str


def read_chat_completion(body: dict[str, Any], *, created: int) -> Completion:
    choices = as_list(body.get("choices"))
    choice = as_dict(choices[0]) if choices else {}
    message = as_dict(choice.get("message"))
    content: list[Text | ToolCall] = []
    text = _message_text(message)
    if text:
        content.append(Text(text))
    calls = [_tool_call(as_dict(value)) for value in as_list(message.get("tool_calls"))]
    content.extend(calls)
    return Completion(
        id=as_str(body.get("id")),
        model=as_str(body.get("model")),
        created=as_count(body.get("created")) or created,
        content=tuple(content),
        stop=stop_reason(choice.get("finish_reason"), called_tools=bool(calls)),
        usage=usage_from_chat(body.get("usage")),
    )


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # some compatible servers answer in parts
        return "".join(as_str(as_dict(part).get("text")) for part in content)
    return as_str(content) or as_str(message.get("refusal"))


def _tool_call(call: dict[str, Any]) -> ToolCall:
    function = as_dict(call.get("function"))
    return ToolCall(
        id=as_str(call.get("id")),
        name=as_str(function.get("name")),
        arguments=as_str(function.get("arguments")),
    )


def write_chat_completion(completion: Completion) -> dict[str, Any]:
    texts = [part.text for part in completion.content if isinstance(part, Text)]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
        "refusal": None,
    }
    calls = [part for part in completion.content if isinstance(part, ToolCall)]
    if calls:
        message["tool_calls"] = [chat_tool_call(call) for call in calls]
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason(completion.stop),
            }
        ],
        "usage": chat_usage(completion.usage),
    }
