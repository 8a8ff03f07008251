"""Responses API conversation state (`state_storage`): what `previous_response_id` refers to.

A provider that serves the Responses API itself (OpenAI) keeps its own state. For every other
provider the gateway translates Responses requests to Chat Completions, so it keeps the state:
each completed exchange (the input items and the answer's output items) is stored under the
response id the client received, and a later request naming it as `previous_response_id` gets
those items prepended to its input.
"""

from plano_extproc.conversations.base import (
    ConversationNotFound,
    ConversationStore,
    StateUnavailable,
)
from plano_extproc.conversations.factory import build_conversation_store

__all__ = [
    "ConversationNotFound",
    "ConversationStore",
    "StateUnavailable",
    "build_conversation_store",
]
