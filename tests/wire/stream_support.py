"""Stream fixtures shared by the stream translation tests."""

from __future__ import annotations

from typing import Any

from plano_extproc.wire import Translation
from tests.wire.support import frames

CHAT = Translation.CHAT_TO_ANTHROPIC

MESSAGES = Translation.MESSAGES_TO_OPENAI

RESPONSES = Translation.RESPONSES_TO_ANTHROPIC


def block(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return kind, {"type": kind, **fields}


def types(raw: bytes) -> list[str]:
    return [data["type"] for _, data in frames(raw)]


MESSAGE_START = {
    "type": "message_start",
    "message": {"id": "msg_9", "model": "claude", "usage": {"input_tokens": 3}},
}


def text_delta(text: str, index: int = 0) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "text_delta", "text": text},
    }


def message_delta(stop: str | None = "end_turn", **usage: Any) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": "###" if stop == "stop_sequence" else None},
        "usage": {"output_tokens": 4, **usage},
    }
