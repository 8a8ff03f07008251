"""ConverseStream events → the neutral stream.

The answer ends with messageStop (its stop reason) and then metadata (its usage): it is
finished once both arrived, or at the end of input once messageStop did. An exception or error
message fails the stream. Text needs no block start; a tool call's block starts with its id and
name, and its input streams as JSON text. Reasoning deltas are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plano_extproc.wire.bedrock.common import (
    error_from_exception,
    new_answer_id,
    stop_reason,
    usage_from_bedrock,
)
from plano_extproc.wire.bedrock.framing import ERROR_PREFIX, EXCEPTION_PREFIX
from plano_extproc.wire.errors import TranslationError
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
from plano_extproc.wire.ir import StopReason, Usage
from plano_extproc.wire.lenient import as_count, as_dict, as_str, json_object
from plano_extproc.wire.sse import SseEvent


class ConverseDecoder:
    def __init__(self, *, created: int) -> None:
        self._created = created
        self._stop: StopReason | None = None
        self._usage: Usage | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], list[StreamEvent]]] = {
            "messageStart": self._message_start,
            "contentBlockStart": self._block_start,
            "contentBlockDelta": self._block_delta,
            "messageStop": self._message_stop,
            "metadata": self._metadata,
        }

    def decode(self, event: SseEvent) -> list[StreamEvent]:
        failure = _failure_type(event.event)
        if failure is not None:
            return [Failed(error_from_exception(failure, _failure_details(event.data)))]
        data = json_object(event.data or "{}", "an upstream stream event")
        handler = self._handlers.get(event.event)
        return [] if handler is None else handler(data)

    def close(self) -> list[StreamEvent]:
        return [ENDED_EARLY] if self._stop is None else [self._finished()]

    @property
    def usage(self) -> Usage | None:
        """The metadata event's counts, which come last."""
        return self._usage

    def _message_start(self, _: dict[str, Any]) -> list[StreamEvent]:
        return [Started(new_answer_id(), "", self._created)]

    def _block_start(self, data: dict[str, Any]) -> list[StreamEvent]:
        tool_use = as_dict(as_dict(data.get("start")).get("toolUse"))
        if not tool_use:
            return []
        key = as_count(data.get("contentBlockIndex"))
        call_id, name = as_str(tool_use.get("toolUseId")), as_str(tool_use.get("name"))
        return [ToolCallStarted(key, call_id, name)]

    def _block_delta(self, data: dict[str, Any]) -> list[StreamEvent]:
        delta = as_dict(data.get("delta"))
        text = as_str(delta.get("text"))
        if text:
            return [TextDelta(text)]
        fragment = as_str(as_dict(delta.get("toolUse")).get("input"))
        if fragment:
            return [ToolArgumentsDelta(as_count(data.get("contentBlockIndex")), fragment)]
        return []

    def _message_stop(self, data: dict[str, Any]) -> list[StreamEvent]:
        self._stop = stop_reason(data.get("stopReason")) or StopReason.END_TURN
        return self._finished_when_complete()

    def _metadata(self, data: dict[str, Any]) -> list[StreamEvent]:
        self._usage = usage_from_bedrock(data.get("usage"))
        return self._finished_when_complete()

    def _finished_when_complete(self) -> list[StreamEvent]:
        if self._stop is None or self._usage is None:
            return []
        return [self._finished()]

    def _finished(self) -> Finished:
        return Finished(self._stop or StopReason.END_TURN, self._usage or Usage())


def _failure_type(name: str) -> str | None:
    """The exception type or error code of a failure message's event; None for an event."""
    for prefix in (EXCEPTION_PREFIX, ERROR_PREFIX):
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return None


def _failure_details(data: str) -> dict[str, Any]:
    """A failure's payload; one that is not a JSON object is its message, as text."""
    try:
        return json_object(data, "an upstream stream exception")
    except TranslationError:
        return {"message": data}
