"""One upstream response stream → the client's stream: framing, decoding, ordering, encoding.

`feed` never raises. An event whose data is not a JSON object, or framing that cannot be read
(an oversized SSE event, a corrupt or truncated AWS event-stream frame), ends the client's
stream with its API's error event (and is logged): a corrupt upstream stream cannot be
repaired, and skipping the event would silently drop part of the answer. Lines that are not
SSE fields are ignored, as the SSE rules say; fields an upstream leaves out read as empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Protocol

from plano_extproc.wire.errors import TranslationError
from plano_extproc.wire.events import (
    Failed,
    Finished,
    Started,
    StreamEvent,
    ToolArgumentsDelta,
    ToolCallStarted,
)
from plano_extproc.wire.ir import ApiError, ErrorKind, Usage
from plano_extproc.wire.sse import SseEvent, SseParser

log = logging.getLogger(__name__)


class StreamFraming(Protocol):
    """Upstream bytes in arbitrary chunks → whole events (SSE, or an adapter for another
    framing); TranslationError for framing that cannot be read. `feed` may yield lazily, so
    that events before a corrupt frame are still translated."""

    def feed(self, chunk: bytes) -> Iterable[SseEvent]: ...

    def close(self) -> Iterable[SseEvent]: ...


class StreamDecoder(Protocol):
    def decode(self, event: SseEvent) -> list[StreamEvent]:
        """The neutral events of one upstream event; TranslationError when unreadable."""
        ...

    def close(self) -> list[StreamEvent]:
        """The terminal event owed at the end of input, when none was decoded."""
        ...

    @property
    def usage(self) -> Usage | None:
        """The usage the stream has reported so far; None while it has reported none."""
        ...


class StreamEncoder(Protocol):
    def encode(self, event: StreamEvent) -> bytes: ...


class StreamTranslator:
    """Create one per response stream; feed it upstream bytes as they arrive, then finish it."""

    def __init__(
        self,
        decoder: StreamDecoder,
        encoder: StreamEncoder,
        *,
        created: int,
        answer_id: str | None = None,
        model: str | None = None,
        framing: StreamFraming | None = None,
    ) -> None:
        self._framing: StreamFraming = SseParser() if framing is None else framing
        self._decoder = decoder
        self._order = _StreamOrder(created)
        self._encoder = encoder
        self._answer_id = answer_id
        self._model = model

    @property
    def ended(self) -> bool:
        """Whether the client's stream is complete; later input is ignored."""
        return self._order.ended

    def feed(self, chunk: bytes) -> bytes:
        """Client stream bytes to send now; b"" while waiting for a complete event."""
        if self.ended:
            return b""
        return self._translate(lambda: self._framing.feed(chunk))

    def finish(self) -> bytes:
        """The rest of the client stream once the upstream stream has ended."""
        if self.ended:
            return b""
        frames = self._translate(self._framing.close)
        if self.ended:
            return frames
        return frames + self._encode(self._decoder.close())

    def _translate(self, read: Callable[[], Iterable[SseEvent]]) -> bytes:
        frames = []
        try:
            for event in read():
                if self.ended:
                    break
                frames.append(self._encode(self._decode(event)))
        except TranslationError as error:
            frames.append(self._encode(self._unreadable(error)))
        return b"".join(frames)

    def _decode(self, event: SseEvent) -> list[StreamEvent]:
        try:
            return self._decoder.decode(event)
        except TranslationError as error:
            return self._unreadable(error)

    @staticmethod
    def _unreadable(error: TranslationError) -> list[StreamEvent]:
        log.warning("ending a translated stream: %s", error)
        return [Failed(ApiError(ErrorKind.SERVER, f"unreadable upstream stream: {error}"))]

    def _encode(self, events: list[StreamEvent]) -> bytes:
        return b"".join(
            self._encoder.encode(self._identified(admitted))
            for event in events
            for admitted in self._order.admit(event)
        )

    def _identified(self, event: StreamEvent) -> StreamEvent:
        if not isinstance(event, Started):
            return event
        if self._answer_id is not None:
            event = replace(event, id=self._answer_id)
        if self._model and not event.model:
            event = replace(event, model=self._model)
        return event


class _StreamOrder:
    """Keeps the neutral stream well formed whatever the upstream sends, so encoders need not
    check: one Started first, each tool call started once and its arguments only after that,
    then one terminal event (Finished or Failed) and nothing after it.
    """

    def __init__(self, created: int) -> None:
        self._created = created
        self._started = False
        self._calls: set[int] = set()
        self.ended = False

    def admit(self, event: StreamEvent) -> list[StreamEvent]:
        if self.ended:
            return []
        match event:
            case Started():
                if self._started:
                    return []
                self._started = True
                return [event]
            case ToolCallStarted(key=key):
                if key in self._calls:
                    return []
                self._calls.add(key)
            case ToolArgumentsDelta(key=key):
                if key not in self._calls:
                    return []
            case Finished() | Failed():
                self.ended = True
        if self._started or isinstance(event, Failed):
            return [event]
        # Content before any start (a stream missing its first event) still needs one.
        self._started = True
        return [Started("", "", self._created), event]
