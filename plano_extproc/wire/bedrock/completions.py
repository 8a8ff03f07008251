"""Non-streamed Converse answers → the neutral Completion.

A Converse answer names neither itself nor its model: the answer gets a fresh id, and the model
is the one a prompt router says it invoked, else "" (the caller may know it from the request).
Reasoning blocks are dropped, as other upstreams' thinking is.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.bedrock.common import new_answer_id, stop_reason, usage_from_bedrock
from plano_extproc.wire.ir import Completion, StopReason, Text, ToolCall
from plano_extproc.wire.lenient import as_dict, as_list, as_str, json_text


def read_converse_completion(body: dict[str, Any], *, created: int) -> Completion:
    message = as_dict(as_dict(body.get("output")).get("message"))
    content: list[Text | ToolCall] = []
    for value in as_list(message.get("content")):
        block = as_dict(value)
        if "text" in block:
            content.append(Text(as_str(block.get("text"))))
        elif "toolUse" in block:
            content.append(_tool_call(as_dict(block.get("toolUse"))))
    return Completion(
        id=new_answer_id(),
        model=_invoked_model(body),
        created=created,
        content=tuple(content),
        stop=stop_reason(body.get("stopReason")) or StopReason.END_TURN,
        usage=usage_from_bedrock(body.get("usage")),
    )


def _tool_call(block: dict[str, Any]) -> ToolCall:
    return ToolCall(
        id=as_str(block.get("toolUseId")),
        name=as_str(block.get("name")),
        arguments=json_text(as_dict(block.get("input"))),
    )


def _invoked_model(body: dict[str, Any]) -> str:
    router = as_dict(as_dict(body.get("trace")).get("promptRouter"))
    return as_str(router.get("invokedModelId"))
