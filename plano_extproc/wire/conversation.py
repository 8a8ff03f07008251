"""A client request as parsed, and the conversation view routing reads whichever API the client
speaks: chat-style messages, projected from the turns the request was read into."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from plano_extproc.config.model import Route
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire.ir import Image, Part, Role, Text, ToolCall, ToolResult, Transcript, Turn


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. `text` is the text content (text parts joined by a newline); may be empty."""

    role: Role
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A validated client request body, read once: what routing needs, and the transcript a
    translation writes the upstream body from.

    `inline_routes` is None when the request carries no routing preferences of its own; the
    models named there are checked against the config by the routing engine, not here.
    """

    api: ClientApi
    model: str | None
    transcript: Transcript
    stream: bool
    inline_routes: tuple[Route, ...] | None
    body: dict[str, Any]
    # The conversation view, projected once where the request is parsed: for a large body that
    # is a worker thread, never the event loop (a projection of 100,000 turns takes long enough
    # to stall the loop's health checks).
    messages: tuple[Message, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", routing_messages(self.transcript.turns))


def routing_messages(turns: Iterable[Turn]) -> tuple[Message, ...]:
    """One message per turn, as chat would send it: a turn's tool results become TOOL messages
    placed before the turn's own text, and an assistant turn's tool calls its tool calls."""
    messages: list[Message] = []
    append = messages.append
    for turn in turns:
        parts = turn.parts
        if len(parts) == 1 and type(parts[0]) is Text:  # most turns: a plain text
            append(Message(turn.role, parts[0].text))
        elif parts:
            _append_messages(turn.role, parts, messages)
        else:
            append(Message(turn.role, ""))
    return tuple(messages)


def _append_messages(role: Role, parts: tuple[Part, ...], messages: list[Message]) -> None:
    texts: list[str] = []
    calls: list[ToolCall] = []
    results = 0
    for part in parts:
        if type(part) is Text:  # not its subclass Refusal, which routing never read
            texts.append(part.text)
        elif isinstance(part, ToolCall):
            calls.append(part)
        elif isinstance(part, ToolResult):
            messages.append(Message(Role.TOOL, _text(part.content), tool_call_id=part.call_id))
            results += 1
    # A turn made only of tool results is fully represented by its TOOL messages.
    if texts or not results:
        messages.append(Message(role, "\n".join(texts), tool_calls=tuple(calls)))


def _text(parts: tuple[Text | Image, ...]) -> str:
    return "\n".join(part.text for part in parts if type(part) is Text)
