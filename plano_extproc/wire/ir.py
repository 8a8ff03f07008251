"""The neutral model every wire format is read into and written from.

A client request is read once into a `Transcript`: routing reads its conversation view
(`conversation.Message`) off it, and a translation turns it into a neutral `Request` for another
API's writer. Each API is translated through this model rather than pairwise, so a
chat→Anthropic and a Messages→chat translation share one reader and one writer per format. It
keeps what the APIs have in common; what only one API can express is either refused when the
request is translated (when dropping it would change the answer) or dropped (when it only tunes
it), as each reader documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from plano_extproc.wire.errors import InvalidRequest


class Role(StrEnum):
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


# The roles whose turns instruct the model rather than converse with it.
INSTRUCTION_ROLES = frozenset({Role.SYSTEM, Role.DEVELOPER})


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Refusal(Text):
    """The text of an answer the model declined to give: sent on as text, but not part of the
    conversation routing reads."""


@dataclass(frozen=True, slots=True)
class Image:
    """An image by `url`: an http(s) URL or a base64 `data:` URL (OpenAI's own form)."""

    url: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the assistant made; `arguments` is JSON text, as OpenAI carries it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    content: tuple[Text | Image, ...]


Part = Text | Image | ToolCall | ToolResult


@dataclass(frozen=True, slots=True)
class Turn:
    """One conversation turn, in the client's order. SYSTEM and DEVELOPER turns are
    instructions; tool results are USER parts; a TOOL turn is a chat `function` message, a
    result without a call id that no other API can carry."""

    role: Role
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Transcript:
    """A client request's conversation, read once, and the first part of it that a translation
    would refuse (None when it can be translated), noted rather than raised since routing needs
    the request all the same."""

    turns: tuple[Turn, ...]
    untranslatable: InvalidRequest | None = None

    def check_translatable(self) -> None:
        if self.untranslatable is not None:
            raise self.untranslatable


def instructions(turns: Iterable[Turn]) -> tuple[str, ...]:
    """The text of each instruction turn, its parts one per line, for APIs that keep
    instructions apart."""
    return tuple(_joined_text(turn.parts) for turn in turns if turn.role in INSTRUCTION_ROLES)


def _joined_text(parts: Iterable[Part]) -> str:
    return "\n".join(part.text for part in parts if isinstance(part, Text))


def dialogue(turns: Iterable[Turn]) -> tuple[Turn, ...]:
    """The turns that are not instructions."""
    return tuple(turn for turn in turns if turn.role not in INSTRUCTION_ROLES)


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str | None
    parameters: dict[str, Any]


class ToolChoiceMode(StrEnum):
    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"  # some tool, the model picks which
    NAMED = "named"  # the tool named in ToolChoice.name


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: ToolChoiceMode
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """A generation request, as a translation writes it. `system` keeps the client's
    instructions apart; `turns` are USER and ASSISTANT turns."""

    system: tuple[str, ...]
    turns: tuple[Turn, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None


class StopReason(StrEnum):
    END_TURN = "end_turn"
    STOP_SEQUENCE = "stop_sequence"
    MAX_TOKENS = "max_tokens"
    TOOL_USE = "tool_use"
    CONTENT_FILTER = "content_filter"


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts. `input_tokens` counts every prompt token, `cached_tokens` included."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished, non-streamed answer. `created` is a Unix time in seconds."""

    id: str
    model: str
    created: int
    content: tuple[Text | ToolCall, ...]
    stop: StopReason
    usage: Usage
    stop_sequence: str | None = None


class ErrorKind(StrEnum):
    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER = "server"


_KINDS_BY_STATUS = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    413: ErrorKind.REQUEST_TOO_LARGE,
    429: ErrorKind.RATE_LIMIT,
    503: ErrorKind.OVERLOADED,
    529: ErrorKind.OVERLOADED,  # Anthropic's "overloaded"
}


def kind_for_status(status: int | None) -> ErrorKind:
    """The error kind an HTTP status implies; a missing or unlisted 5xx is a server error."""
    if status is None:
        return ErrorKind.SERVER
    default = ErrorKind.INVALID_REQUEST if 400 <= status < 500 else ErrorKind.SERVER
    return _KINDS_BY_STATUS.get(status, default)


@dataclass(frozen=True, slots=True)
class ApiError:
    kind: ErrorKind
    message: str


@dataclass(frozen=True, slots=True)
class Denial:
    """A request the gateway refuses before any provider sees it (client authentication, a
    rate limit), answered in the client API's own error shape."""

    status: int
    kind: ErrorKind
    message: str
    reason: str
    retry_after: int | None = None
