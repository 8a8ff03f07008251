"""The client-facing APIs the gateway reads."""

from __future__ import annotations

from enum import StrEnum


class ClientApi(StrEnum):
    """The client-facing API a request was written in."""

    CHAT = "chat"  # OpenAI Chat Completions
    MESSAGES = "messages"  # Anthropic Messages
    RESPONSES = "responses"  # OpenAI Responses
