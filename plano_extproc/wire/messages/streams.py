"""Anthropic Messages event streams ⇄ the neutral stream."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from plano_extproc.wire.events import (
    ENDED_EARLY,
    Failed,
    Finished,
    Started,
    StreamEvent,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallStarted,
)
from plano_extproc.wire.ir import ApiError, ErrorKind, StopReason, Usage
from plano_extproc.wire.lenient import as_count, as_dict, as_str, json_object, json_text
from plano_extproc.wire.messages.common import (
    anthropic_error,
    anthropic_stop_reason,
    anthropic_usage,
    error_from_anthropic,
    stop_reason,
    usage_from_anthropic,
)
from plano_extproc.wire.sse import SseEvent, sse_frame

_FAILED = ApiError(ErrorKind.SERVER, "the upstream stream failed")


class EventDecoder:
    """An upstream event stream → neutral events.

    Usage is the union of message_start's (input) and message_delta's (output) counts.
    Thinking, citations and server-tool blocks are dropped.
    """

    def __init__(self, *, created: int) -> None:
        self._created = created
        self._usage: dict[str, Any] = {}
        self._stop: StopReason | None = None
        self._stop_sequence: str | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], list[StreamEvent]]] = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "message_delta": self._message_delta,
            "message_stop": self._message_stop,
            "error": self._error,
        }

    def decode(self, event: SseEvent) -> list[StreamEvent]:
        data = json_object(event.data, "an upstream stream event")
        handler = self._handlers.get(as_str(data.get("type")) or event.event)
        return [] if handler is None else handler(data)

    def close(self) -> list[StreamEvent]:
        return [ENDED_EARLY] if self._stop is None else [self._finished()]

    @property
    def usage(self) -> Usage | None:
        """message_start's counts (its input), then message_delta's (the output) once sent."""
        return usage_from_anthropic(self._usage) if self._usage else None

    def _message_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        message = as_dict(data.get("message"))
        self._add_usage(message.get("usage"))
        return [Started(as_str(message.get("id")), as_str(message.get("model")), self._created)]

    def _block_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        block = as_dict(data.get("content_block"))
        kind = block.get("type")
        if kind == "text":
            return _text(block.get("text"))
        if kind != "tool_use":
            return []
        key = as_count(data.get("index"))
        events: list[StreamEvent] = [
            ToolCallStarted(key, as_str(block.get("id")), as_str(block.get("name")))
        ]
        # The input normally streams as deltas, but a block may also start with it whole.
        given = as_dict(block.get("input"))
        if given:
            events.append(ToolArgumentsDelta(key, json_text(given)))
        return events

    def _block_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        delta = as_dict(data.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta":
            return _text(delta.get("text"))
        fragment = as_str(delta.get("partial_json"))
        if kind == "input_json_delta" and fragment:
            return [ToolArgumentsDelta(as_count(data.get("index")), fragment)]
        return []

    def _message_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        delta = as_dict(data.get("delta"))
        self._stop = stop_reason(delta.get("stop_reason")) or self._stop
        self._stop_sequence = as_str(delta.get("stop_sequence")) or None
        self._add_usage(data.get("usage"))
        return []

    def _message_stop(self, _: dict[str, Any]) -> list[StreamEvent]:
        return [self._finished()]

    def _error(self, data: dict[str, Any]) -> list[StreamEvent]:
        return [Failed(error_from_anthropic(data, None) or _FAILED)]

    def _add_usage(self, value: object) -> None:
        self._usage.update((k, v) for k, v in as_dict(value).items() if v is not None)

    def _finished(self) -> Finished:
        usage = self.usage or Usage()
        return Finished(self._stop or StopReason.END_TURN, usage, self._stop_sequence)


def _text(value: object) -> list[StreamEvent]:
    text = as_str(value)
    return [TextDelta(text)] if text else []


@dataclass(slots=True)
class _Block:
    """A content block of the client stream, open or held; `key` is None for text."""

    key: int | None
    call_id: str = ""
    name: str = ""
    pieces: list[str] = field(default_factory=list)


class EventEncoder:
    """Neutral events → a client event stream.

    Anthropic streams one content block at a time, while OpenAI names tool calls by index and
    may interleave their argument deltas. Text and the first tool call stream live; a block
    that begins while a tool call is open is held, whole, until the upstream finishes, as only
    then is the open call known to be complete.
    """

    def __init__(self) -> None:
        self._next_index = 0
        self._open: _Block | None = None
        self._held: list[_Block] = []
        self._held_calls: dict[int, _Block] = {}

    def encode(self, event: StreamEvent) -> bytes:
        match event:
            case Started(id=identifier, model=model):
                message: dict[str, Any] = {
                    "id": identifier,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": anthropic_usage(Usage()),
                }
                return _event({"type": "message_start", "message": message})
            case TextDelta(text=text):
                return self._text(text)
            case ToolCallStarted():
                return self._call_started(event)
            case ToolArgumentsDelta(key=key, fragment=fragment):
                return self._arguments(key, fragment)
            case Finished():
                return self._finished(event)
            case Failed(error=error):
                return _event(anthropic_error(error))

    def _text(self, text: str) -> bytes:
        if self._open is None:
            return self._start(_Block(None)) + self._text_delta(text)
        if self._open.key is None:
            return self._text_delta(text)
        if not self._held or self._held[-1].key is not None:
            self._held.append(_Block(None))
        self._held[-1].pieces.append(text)
        return b""

    def _call_started(self, event: ToolCallStarted) -> bytes:
        call = _Block(event.key, event.id, event.name)
        if self._open is not None and self._open.key is not None:
            self._held.append(call)
            self._held_calls[event.key] = call
            return b""
        return self._stop_open() + self._start(call)

    def _arguments(self, key: int, fragment: str) -> bytes:
        held = self._held_calls.get(key)
        if held is None:  # then it is the open call
            return self._delta({"type": "input_json_delta", "partial_json": fragment})
        held.pieces.append(fragment)
        return b""

    def _finished(self, event: Finished) -> bytes:
        frames = self._stop_open()
        for block in self._held:
            frames += self._start(block) + self._replay(block) + self._stop_open()
        delta = {
            "stop_reason": anthropic_stop_reason(event.stop),
            "stop_sequence": event.stop_sequence,
        }
        usage = anthropic_usage(event.usage)
        frames += _event({"type": "message_delta", "delta": delta, "usage": usage})
        return frames + _event({"type": "message_stop"})

    def _replay(self, block: _Block) -> bytes:
        joined = "".join(block.pieces)
        if not joined:
            return b""
        if block.key is None:
            return self._text_delta(joined)
        return self._delta({"type": "input_json_delta", "partial_json": joined})

    def _start(self, block: _Block) -> bytes:
        self._open = block
        if block.key is None:
            content: dict[str, Any] = {"type": "text", "text": ""}
        else:
            content = {"type": "tool_use", "id": block.call_id, "name": block.name, "input": {}}
        index = self._next_index
        return _event({"type": "content_block_start", "index": index, "content_block": content})

    def _text_delta(self, text: str) -> bytes:
        return self._delta({"type": "text_delta", "text": text})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        index = self._next_index
        return _event({"type": "content_block_delta", "index": index, "delta": delta})

    def _stop_open(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        index = self._next_index
        self._next_index += 1
        return _event({"type": "content_block_stop", "index": index})


def _event(payload: dict[str, Any]) -> bytes:
    return sse_frame(orjson.dumps(payload), payload["type"])
