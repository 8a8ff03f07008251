"""Chat Completions chunk streams ⇄ the neutral stream."""

from __future__ import annotations

from typing import Any

import orjson

from plano_extproc.wire.chat.common import (
    chat_usage,
    error_from_openai,
    finish_reason,
    openai_error,
    stop_reason,
    usage_from_chat,
)
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
from plano_extproc.wire.ir import Usage
from plano_extproc.wire.lenient import as_count, as_dict, as_list, as_str, json_object
from plano_extproc.wire.sse import SseEvent, sse_frame

DONE = "[DONE]"
# A refusal is the answer's text, as when reading a whole completion.
_TEXT_FIELDS = ("content", "refusal")
_DONE_FRAME = sse_frame(DONE.encode())


class ChunkDecoder:
    """An upstream chunk stream → neutral events.

    The finish reason and the usage come in separate chunks (usage last, when asked for), so
    Finished waits for `data: [DONE]`, or for the end of input from servers that never send it.
    """

    def __init__(self, *, created: int) -> None:
        self._created = created
        self._id = ""
        self._started = False
        self._finish: object = None
        self._usage: Usage | None = None
        self._calls: set[int] = set()
        self._last_call = 0

    def decode(self, event: SseEvent) -> list[StreamEvent]:
        if event.data.strip() == DONE:
            return [self._finished()]
        chunk = json_object(event.data, "an upstream stream chunk")
        error = error_from_openai(chunk, None)
        if error is not None:
            return [Failed(error)]
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            self._id = as_str(chunk.get("id"))
            created = as_count(chunk.get("created")) or self._created
            events.append(Started(self._id, as_str(chunk.get("model")), created))
        if chunk.get("usage") is not None:
            self._usage = usage_from_chat(chunk["usage"])
        for value in as_list(chunk.get("choices")):
            choice = as_dict(value)
            if as_count(choice.get("index")) == 0:  # only one choice is ever asked for
                events.extend(self._choice(choice))
        return events

    def close(self) -> list[StreamEvent]:
        return [ENDED_EARLY] if self._finish is None else [self._finished()]

    @property
    def usage(self) -> Usage | None:
        """Only a stream asked for with `stream_options.include_usage` reports it."""
        return self._usage

    def _choice(self, choice: dict[str, Any]) -> list[StreamEvent]:
        delta = as_dict(choice.get("delta"))
        events: list[StreamEvent] = []
        for key in _TEXT_FIELDS:
            text = as_str(delta.get(key))
            if text:
                events.append(TextDelta(text))
        for call in as_list(delta.get("tool_calls")):
            events.extend(self._tool_call(as_dict(call)))
        if choice.get("finish_reason") is not None:
            self._finish = choice["finish_reason"]
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[StreamEvent]:
        key = self._call_key(call)
        function = as_dict(call.get("function"))
        events: list[StreamEvent] = []
        if key not in self._calls:
            self._calls.add(key)
            call_id = as_str(call.get("id")) or f"call_{self._id}_{key}"
            events.append(ToolCallStarted(key, call_id, as_str(function.get("name"))))
        self._last_call = key
        arguments = as_str(function.get("arguments"))
        if arguments:
            events.append(ToolArgumentsDelta(key, arguments))
        return events

    def _call_key(self, call: dict[str, Any]) -> int:
        # OpenAI names each call by `index`; some servers leave it out and send every call
        # whole, or continue the last one without repeating its id.
        index = call.get("index")
        if isinstance(index, int) and not isinstance(index, bool) and index >= 0:
            return index
        if call.get("id"):
            return max(self._calls, default=-1) + 1
        return self._last_call

    def _finished(self) -> Finished:
        stop = stop_reason(self._finish, called_tools=bool(self._calls))
        return Finished(stop, self._usage or Usage())


class ChunkEncoder:
    """Neutral events → a client chunk stream, ending in `data: [DONE]`.

    Usage goes in a chunk of its own with no choices, and only when the client asked for it
    (`stream_options.include_usage`), as OpenAI does: clients that read `choices[0]` of every
    chunk would break on it.
    """

    def __init__(self, *, include_usage: bool) -> None:
        self._include_usage = include_usage
        self._head: dict[str, Any] = {}
        self._indexes: dict[int, int] = {}

    def encode(self, event: StreamEvent) -> bytes:
        match event:
            case Started(id=identifier, model=model, created=created):
                self._head = {
                    "id": identifier,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                }
                return self._chunk({"role": "assistant", "content": ""})
            case TextDelta(text=text):
                return self._chunk({"content": text})
            case ToolCallStarted():
                return self._call_started(event)
            case ToolArgumentsDelta(key=key, fragment=fragment):
                call = {"index": self._indexes[key], "function": {"arguments": fragment}}
                return self._chunk({"tool_calls": [call]})
            case Finished():
                return self._finished(event)
            case Failed(error=error):
                return sse_frame(orjson.dumps({"error": openai_error(error)}))

    def _call_started(self, event: ToolCallStarted) -> bytes:
        index = self._indexes[event.key] = len(self._indexes)
        call = {
            "index": index,
            "id": event.id,
            "type": "function",
            "function": {"name": event.name, "arguments": ""},
        }
        return self._chunk({"tool_calls": [call]})

    def _finished(self, event: Finished) -> bytes:
        frames = self._chunk({}, finish_reason(event.stop))
        if self._include_usage:
            usage = {**self._head, "choices": [], "usage": chat_usage(event.usage)}
            frames += sse_frame(orjson.dumps(usage))
        return frames + _DONE_FRAME

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse_frame(orjson.dumps({**self._head, "choices": [choice]}))
