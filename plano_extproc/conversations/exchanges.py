"""One Responses exchange in the store: while the request is answered its input items (stored
history included) wait under a fresh key; once the answer completes, input and output are stored
under the response id the client received."""

from __future__ import annotations

import logging
import os
from typing import Any

import orjson

from plano_extproc.conversations.base import (
    ConversationNotFound,
    ConversationStore,
    Items,
    StateUnavailable,
)
from plano_extproc.conversations.items import (
    PREVIOUS_RESPONSE_ID,
    input_items,
    is_response_id,
    previous_response_id,
    with_history,
)
from plano_extproc.wire.errors import InvalidRequest

log = logging.getLogger(__name__)

# A stored conversation's size limit: each turn stores the whole conversation again, so a
# client chaining turns must not grow one without bound.
MAX_CONVERSATION_BYTES = 8 << 20
# How long a request's input items wait for its answer: the longest request.
PENDING_TTL_SECONDS = 3600


def _pending_key(state_key: str) -> str:
    return f"pending:{state_key}"


class Exchanges:
    def __init__(self, store: ConversationStore, ttl_seconds: int) -> None:
        self._store = store
        self._ttl_seconds = ttl_seconds

    async def begin(self, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """`body` with its stored conversation in front, and the key its items wait under.
        Raises ConversationNotFound, InvalidRequest (too long) or StateUnavailable."""
        previous = previous_response_id(body)
        if previous is not None:
            history = await self._store.get(previous) if is_response_id(previous) else None
            if history is None:
                raise ConversationNotFound(previous)
            body = with_history(body, history)
        state_key = os.urandom(16).hex()
        items = input_items(body.get("input"))
        if len(orjson.dumps(items)) > MAX_CONVERSATION_BYTES:
            raise InvalidRequest(
                f"{PREVIOUS_RESPONSE_ID}: the conversation is over the gateway's "
                f"{MAX_CONVERSATION_BYTES >> 20} MiB limit for stored conversations; "
                "start a new one",
                reason="conversation_too_long",
            )
        await self._store.put(_pending_key(state_key), items, PENDING_TTL_SECONDS)
        return body, state_key

    async def complete(self, state_key: str, response_id: str, output: Items) -> None:
        """Stores the exchange `state_key` began, then `output`, under `response_id`. A store
        that fails is logged: the client already has its answer."""
        try:
            inputs = await self._store.get(_pending_key(state_key))
            if inputs is None:
                return
            items = [*inputs, *output]
            if len(orjson.dumps(items)) > MAX_CONVERSATION_BYTES:
                log.warning("conversation %s is over the size limit; not stored", response_id)
                return
            await self._store.put(response_id, items, self._ttl_seconds)
        except StateUnavailable:
            log.warning("could not store conversation %s", response_id, exc_info=True)

    async def close(self) -> None:
        await self._store.close()
