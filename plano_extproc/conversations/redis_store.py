"""Redis conversation store: state shared by every replica pointing at the same Redis.

Each entry is one key, `plano:responses:<id>`, holding the items as JSON, written with
`SET ... EX ttl`. Every operation has a time budget; past it, or on any Redis error, the
operation raises StateUnavailable and the request gets a 503: answering without the
conversation it names would be a wrong answer, not a degraded one.
"""

from __future__ import annotations

import asyncio

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from plano_extproc.conversations.base import Items, StateUnavailable

KEY_PREFIX = "plano:responses:"
# Larger than the affinity store's: a conversation can be a few hundred kB.
DEFAULT_OP_TIMEOUT_SECONDS = 0.5


class RedisConversationStore:
    """`client` replaces the one built from `url` (tests); the store closes it either way."""

    def __init__(
        self,
        url: str,
        *,
        op_timeout: float = DEFAULT_OP_TIMEOUT_SECONDS,
        client: Redis | None = None,
    ) -> None:
        self._op_timeout = op_timeout
        self._client = (
            client
            if client is not None
            else Redis.from_url(url, socket_timeout=op_timeout, socket_connect_timeout=op_timeout)
        )

    async def get(self, key: str) -> Items | None:
        raw = await self._bounded(self._client.get(KEY_PREFIX + key))
        if raw is None:
            return None
        try:
            items = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise StateUnavailable(f"stored conversation {key} is unreadable") from error
        if not isinstance(items, list):
            raise StateUnavailable(f"stored conversation {key} is not a list of items")
        return items

    async def put(self, key: str, items: Items, ttl_seconds: int) -> None:
        await self._bounded(self._client.set(KEY_PREFIX + key, orjson.dumps(items), ex=ttl_seconds))

    async def close(self) -> None:
        await self._client.aclose()

    async def _bounded(self, operation):  # type: ignore[no-untyped-def]
        try:
            async with asyncio.timeout(self._op_timeout):
                return await operation
        except (TimeoutError, RedisError, OSError) as error:
            raise StateUnavailable(f"conversation state store unavailable: {error}") from error
