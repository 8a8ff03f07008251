"""Builds the store named by `state_storage`."""

from __future__ import annotations

from plano_extproc.config.model import StateStorageSettings, StateStorageType
from plano_extproc.conversations.base import ConversationStore
from plano_extproc.conversations.memory import MemoryConversationStore
from plano_extproc.conversations.redis_store import RedisConversationStore


def build_conversation_store(settings: StateStorageSettings | None) -> ConversationStore | None:
    if settings is None:
        return None
    if settings.type is StateStorageType.REDIS:
        return RedisConversationStore(settings.url or "")
    return MemoryConversationStore(max_entries=settings.max_entries)
