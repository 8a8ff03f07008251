"""The single conversation view that every client API is parsed into."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from plano_extproc.config.model import Route
from plano_extproc.contract.client_api import ClientApi


class Role(StrEnum):
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. `text` is the text content (text parts joined by a newline); may be empty."""

    role: Role
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A validated client request body, reduced to what routing needs.

    `inline_routes` is None when the request carries no routing preferences of its own; the
    models named there are checked against the config by the routing engine, not here.
    """

    api: ClientApi
    model: str | None
    messages: tuple[Message, ...]
    stream: bool
    inline_routes: tuple[Route, ...] | None
    body: dict[str, Any]
