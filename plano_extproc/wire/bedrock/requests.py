"""The neutral request → a Bedrock Converse request body.

The model id and whether the answer streams are not in the body but in the path
(`providers/paths.py`): `/model/{modelId}/converse` or `/model/{modelId}/converse-stream`.

Writing:
- instructions go to `system`, one text block each; turns of the same role are merged, as
  Bedrock requires alternating roles, and within a user turn tool results come first;
- `inferenceConfig` carries maxTokens, temperature (clamped to 1, Converse's maximum), topP
  and stopSequences; Bedrock needs no token limit, so none is invented;
- tools become `toolConfig.tools[].toolSpec`, the tool choice auto/any/tool. Converse has no
  "none": the tools are then left out, which is only possible when no turn holds a tool call
  or result, as Bedrock refuses those without a `toolConfig`; such a conversation without
  tools is refused (400), as is one whose tool choice is "none";
- images must be base64 data URLs of PNG, JPEG, GIF or WebP (Converse takes no URL);
  a tool call's arguments must be a JSON object (see `messages.common.call_input`);
- `parallel_tool_calls` and `user` have no Converse counterpart and are dropped.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.errors import untranslatable
from plano_extproc.wire.ir import (
    Image,
    Part,
    Request,
    Text,
    Tool,
    ToolCall,
    ToolChoiceMode,
    ToolResult,
    Turn,
)
from plano_extproc.wire.messages.common import (
    alternating_turns,
    call_input,
    image_source,
    sendable,
)

MAX_TEMPERATURE = 1.0
_IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "gif": "gif", "webp": "webp"}
_TOOL_CHOICES = {
    ToolChoiceMode.AUTO: "auto",
    ToolChoiceMode.REQUIRED: "any",
    ToolChoiceMode.NAMED: "tool",
}


def write_converse_request(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": alternating_turns(request.turns, _block, _is_tool_result)}
    system = [{"text": text} for text in request.system if text]
    if system:
        body["system"] = system
    inference = _inference_config(request)
    if inference:
        body["inferenceConfig"] = inference
    tool_config = _tool_config(request)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    return body


def _inference_config(request: Request) -> dict[str, Any]:
    temperature = request.temperature
    config: dict[str, Any] = {
        "maxTokens": request.max_tokens,
        "temperature": None if temperature is None else min(temperature, MAX_TEMPERATURE),
        "topP": request.top_p,
        "stopSequences": list(request.stop) or None,
    }
    return {key: value for key, value in config.items() if value is not None}


def _block(part: Part) -> dict[str, Any]:
    if isinstance(part, Text | Image):
        return _media_block(part)
    if isinstance(part, ToolCall):
        return {"toolUse": {"toolUseId": part.id, "name": part.name, "input": call_input(part)}}
    content = [_media_block(item) for item in part.content if sendable(item)]
    return {"toolResult": {"toolUseId": part.call_id, "content": content}}


def _media_block(part: Text | Image) -> dict[str, Any]:
    if isinstance(part, Text):
        return {"text": part.text}
    source = image_source(part.url)
    image_format = None
    if source is not None and source["type"] == "base64":
        image_format = _IMAGE_FORMATS.get(source["media_type"].removeprefix("image/"))
    if source is None or image_format is None:
        problem = f"{part.url[:40]!r} is not a base64 data URL of a PNG, JPEG, GIF or WebP image"
        raise untranslatable("image_url", problem)
    return {"image": {"format": image_format, "source": {"bytes": source["data"]}}}


def _tool_config(request: Request) -> dict[str, Any] | None:
    choice = request.tool_choice
    if not request.tools or (choice is not None and choice.mode is ToolChoiceMode.NONE):
        _refuse_tool_turns(request.turns)
        return None
    config: dict[str, Any] = {"tools": [_tool_spec(tool) for tool in request.tools]}
    if choice is not None:
        mode = _TOOL_CHOICES[choice.mode]
        config["toolChoice"] = {mode: {} if choice.name is None else {"name": choice.name}}
    return config


def _refuse_tool_turns(turns: tuple[Turn, ...]) -> None:
    """Bedrock refuses tool calls and results in a request that declares no tools."""
    if any(isinstance(part, ToolCall | ToolResult) for turn in turns for part in turn.parts):
        problem = (
            "tool calls and results can only be sent with the tools they use,"
            " under a tool choice other than none"
        )
        raise untranslatable("tools", problem)


def _tool_spec(tool: Tool) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": tool.name}
    if tool.description:  # Converse refuses an empty description
        spec["description"] = tool.description
    spec["inputSchema"] = {"json": tool.parameters}
    return {"toolSpec": spec}


def _is_tool_result(block: dict[str, Any]) -> bool:
    return "toolResult" in block
