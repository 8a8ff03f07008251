"""The neutral stream → a Responses event stream, and the little of an upstream Responses
stream that is read (`UsageDecoder`).

A run of text is one message item with one output_text part; it is closed when a tool call
begins. Function call items stay open until the upstream finishes, since events name their
item and calls may interleave. Every event carries a `sequence_number`, counted from 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from plano_extproc.wire.chat.common import openai_error
from plano_extproc.wire.events import (
    Failed,
    Finished,
    Started,
    StreamEvent,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallStarted,
)
from plano_extproc.wire.ir import ApiError, ToolCall, Usage
from plano_extproc.wire.lenient import as_count, as_dict, as_str, json_object
from plano_extproc.wire.responses.common import (
    final_status,
    function_call_item,
    item_id,
    message_item,
    output_text,
    response_id,
    response_object,
    usage_from_responses,
)
from plano_extproc.wire.sse import SseEvent, sse_frame

# The events of generated text, and those that end a response (each carries it, with its usage).
_TEXT_DELTAS = frozenset({"response.output_text.delta", "response.refusal.delta"})
_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
_ENDS = frozenset({"response.completed", "response.incomplete", "response.failed"})


@dataclass(slots=True)
class _Message:
    index: int
    id: str
    pieces: list[str] = field(default_factory=list)

    def part(self, text: str) -> dict[str, Any]:
        """The fields that address this message's only content part, and that part."""
        return {
            "item_id": self.id,
            "output_index": self.index,
            "content_index": 0,
            "part": output_text(text),
        }


@dataclass(slots=True)
class _Call:
    index: int
    id: str
    call_id: str
    name: str
    pieces: list[str] = field(default_factory=list)

    def item(self, status: str) -> dict[str, Any]:
        call = ToolCall(self.call_id, self.name, "".join(self.pieces))
        return function_call_item(self.id, call, status)


class EventEncoder:
    def __init__(self) -> None:
        self._sequence = 0
        self._started: Started | None = None
        self._id = ""
        self._done: dict[int, dict[str, Any]] = {}  # finished items, by output index
        self._next_index = 0
        self._message: _Message | None = None
        self._calls: dict[int, _Call] = {}

    def encode(self, event: StreamEvent) -> bytes:
        match event:
            case Started():
                self._started = event
                self._id = response_id(event.id)
                response = self._response("in_progress")
                created = self._event("response.created", response=response)
                return created + self._event("response.in_progress", response=response)
            case TextDelta(text=text):
                return self._text(text)
            case ToolCallStarted():
                return self._call_started(event)
            case ToolArgumentsDelta(key=key, fragment=fragment):
                return self._arguments(key, fragment)
            case Finished():
                return self._finished(event)
            case Failed(error=error):
                return self._failed(error)

    def _text(self, text: str) -> bytes:
        frames = b""
        if self._message is None:
            self._message = _Message(*self._new_item("msg"))
            item = message_item(self._message.id, [], "in_progress")
            frames = self._event(
                "response.output_item.added", output_index=self._message.index, item=item
            ) + self._event("response.content_part.added", **self._message.part(""))
        message = self._message
        message.pieces.append(text)
        return frames + self._event(
            "response.output_text.delta",
            item_id=message.id,
            output_index=message.index,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _call_started(self, event: ToolCallStarted) -> bytes:
        frames = self._close_message()
        call = self._calls[event.key] = _Call(*self._new_item("fc"), event.id, event.name)
        added = self._event(
            "response.output_item.added", output_index=call.index, item=call.item("in_progress")
        )
        return frames + added

    def _arguments(self, key: int, fragment: str) -> bytes:
        call = self._calls[key]
        call.pieces.append(fragment)
        return self._event(
            "response.function_call_arguments.delta",
            item_id=call.id,
            output_index=call.index,
            delta=fragment,
        )

    def _finished(self, event: Finished) -> bytes:
        frames = self._close_message()
        for call in self._calls.values():
            frames += self._close_call(call)
        status, incomplete = final_status(event.stop)
        response = self._response(status, usage=event.usage, incomplete_details=incomplete)
        return frames + self._event(f"response.{status}", response=response)

    def _failed(self, error: ApiError) -> bytes:
        details = openai_error(error)
        code = details["code"] or details["type"]
        frames = self._event("error", code=code, message=error.message, param=None)
        if self._started is None:
            return frames
        response = self._response("failed", error={"code": code, "message": error.message})
        return frames + self._event("response.failed", response=response)

    def _close_message(self) -> bytes:
        message, self._message = self._message, None
        if message is None:
            return b""
        text = "".join(message.pieces)
        item = self._done[message.index] = message_item(
            message.id, [output_text(text)], "completed"
        )
        return (
            self._event(
                "response.output_text.done",
                item_id=message.id,
                output_index=message.index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            + self._event("response.content_part.done", **message.part(text))
            + self._event("response.output_item.done", output_index=message.index, item=item)
        )

    def _close_call(self, call: _Call) -> bytes:
        item = self._done[call.index] = call.item("completed")
        return self._event(
            "response.function_call_arguments.done",
            item_id=call.id,
            output_index=call.index,
            arguments=item["arguments"],
        ) + self._event("response.output_item.done", output_index=call.index, item=item)

    def _new_item(self, prefix: str) -> tuple[int, str]:
        index = self._next_index
        self._next_index += 1
        return index, item_id(prefix, self._id, index)

    def _response(self, status: str, **details: Any) -> dict[str, Any]:
        started = self._started or Started("", "", 0)
        return response_object(
            self._id,
            created=started.created,
            model=started.model,
            status=status,
            output=[self._done[index] for index in sorted(self._done)],
            **details,
        )

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return sse_frame(orjson.dumps(payload), kind)


class UsageDecoder:
    """An upstream Responses stream → its text and argument deltas, and its usage.

    Responses streams are forwarded as they are (no upstream is translated to Responses), so
    this is all of one that is read: `decode` yields only TextDelta and ToolArgumentsDelta
    (keyed by output index), and `close` owes nothing.
    """

    def __init__(self) -> None:
        self._usage: Usage | None = None

    def decode(self, event: SseEvent) -> list[StreamEvent]:
        data = json_object(event.data, "an upstream stream event")
        kind = as_str(data.get("type")) or event.event
        delta = as_str(data.get("delta"))
        if kind in _TEXT_DELTAS and delta:
            return [TextDelta(delta)]
        if kind == _ARGUMENTS_DELTA and delta:
            return [ToolArgumentsDelta(as_count(data.get("output_index")), delta)]
        usage = as_dict(data.get("response")).get("usage")
        if kind in _ENDS and isinstance(usage, dict):
            self._usage = usage_from_responses(usage)
        return []

    def close(self) -> list[StreamEvent]:
        return []

    @property
    def usage(self) -> Usage | None:
        return self._usage
