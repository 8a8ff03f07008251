"""Reading SSE streams in tests, event by event, as a client sees them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def sse_events(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON `data:` payloads of a stream, in order (``[DONE]`` ends it)."""
    for line in lines:
        if not line.startswith("data: "):
            continue
        data = line.removeprefix("data: ")
        if data == "[DONE]":
            return
        yield json.loads(data)


def chat_text(events: Iterable[dict[str, Any]]) -> str:
    """The text of an OpenAI chat completion stream."""
    return "".join(
        choice["delta"].get("content") or "" for event in events for choice in event["choices"]
    )
