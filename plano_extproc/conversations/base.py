"""The conversation store interface and its errors."""

from __future__ import annotations

from typing import Any, Protocol

Items = list[dict[str, Any]]


class StateUnavailable(Exception):
    """The store could not be reached; the request gets a 503, never a wrong answer."""


class ConversationNotFound(Exception):
    """No stored conversation has this id (never stored, or expired)."""

    def __init__(self, response_id: str) -> None:
        super().__init__(response_id)
        self.response_id = response_id


class ConversationStore(Protocol):
    """Items by key, each entry expiring `ttl_seconds` after it was written."""

    async def get(self, key: str) -> Items | None:
        """The stored items, or None. Raises StateUnavailable when the backend is down."""
        ...

    async def put(self, key: str, items: Items, ttl_seconds: int) -> None:
        """Stores `items`. Raises StateUnavailable when the backend is down."""
        ...

    async def close(self) -> None: ...
