"""Client APIs (OpenAI Chat, Anthropic Messages, OpenAI Responses) → one conversation view."""

from plano_extproc.api.body import needs_rewrite, rewrite_body
from plano_extproc.api.conversation import Message, ParsedRequest, Role, ToolCall
from plano_extproc.api.errors import InvalidRequest
from plano_extproc.api.parse import parse_body, parse_request
from plano_extproc.contract.client_api import ClientApi

__all__ = [
    "ClientApi",
    "InvalidRequest",
    "Message",
    "ParsedRequest",
    "Role",
    "ToolCall",
    "needs_rewrite",
    "parse_body",
    "parse_request",
    "rewrite_body",
]
