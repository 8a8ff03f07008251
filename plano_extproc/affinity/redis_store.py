"""Redis affinity store: pins shared by every replica pointing at the same Redis.

Values are compact JSON ``{"model": ..., "route": ...}`` written with ``SET key value NX EX ttl``,
so the first decision wins and its TTL is absolute (later writes and reads never extend it).
The one overwrite is a re-pin after failover (`replace=True`): the session moves to the model
that actually answered, with a fresh TTL.

Capacity: Redis has no per-prefix entry limit. The ``plano:affinity:`` key space is bounded by the
TTL (every key expires) and, under memory pressure, by the server's ``maxmemory-policy``
(``volatile-ttl``/``volatile-lru``/``allkeys-lru`` evict pins; ``noeviction`` turns writes into
counted errors). ``session_max_entries`` applies to the memory store only.

Failure handling: a Redis operation never raises and never takes longer than ``op_timeout``.
A failure (connection refused, timeout, bad reply) reads as a miss or a dropped write, increments
``plano_affinity_errors_total{backend="redis"}`` and opens a cool-down during which Redis is not
contacted at all; afterwards a single probe request tries again while the rest keep skipping.
Operations skipped during a cool-down are counted too: the counter is the number of requests that
lost affinity because of Redis. Warnings are rate-limited.

Reconnection and the failure policy are `redis_budget.BudgetedRedis`'s. No
``health_check_interval``: its PING would spend a round trip of the per-operation budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis

from plano_extproc.affinity.base import Pin
from plano_extproc.redis_budget import (
    DEFAULT_COOLDOWN_SECONDS,
    DEFAULT_OP_TIMEOUT_SECONDS,
    WARNING_INTERVAL_SECONDS,
    BudgetedRedis,
    WarningThrottle,
)
from plano_extproc.telemetry.metrics import AFFINITY_ERRORS

logger = logging.getLogger(__name__)


class RedisAffinityStore:
    """Affinity pins in Redis. `client` replaces the one built from `url` (tests, custom pools);
    either way the store owns it and closes it in `close()`."""

    def __init__(
        self,
        url: str,
        ttl_seconds: int,
        *,
        op_timeout: float = DEFAULT_OP_TIMEOUT_SECONDS,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        client: Redis | None = None,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._ttl = ttl_seconds
        self._redis = BudgetedRedis(
            url,
            errors=AFFINITY_ERRORS,
            what="redis affinity",
            op_timeout=op_timeout,
            cooldown_seconds=cooldown_seconds,
            clock=clock,
            client=client,
        )
        self._decode_log = WarningThrottle(WARNING_INTERVAL_SECONDS, clock, logger)

    async def get(self, key: str) -> Pin | None:
        client = self._redis.client
        raw = await self._redis.call("get", lambda: client.get(key))
        if raw is None:
            return None
        pin = _decode_pin(raw)
        if pin is None:
            AFFINITY_ERRORS.labels("redis", "decode").inc()
            self._decode_log.warn("value under %r is not a valid pin; treated as a miss", key)
        return pin

    async def put(self, key: str, pin: Pin, *, replace: bool = False) -> None:
        value = orjson.dumps({"model": pin.model, "route": pin.route})
        client = self._redis.client
        await self._redis.call("put", lambda: client.set(key, value, nx=not replace, ex=self._ttl))

    async def close(self) -> None:
        await self._redis.close()


def _decode_pin(raw: bytes) -> Pin | None:
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    model, route = data.get("model"), data.get("route")
    if not isinstance(model, str) or not model:
        return None
    if route is not None and not isinstance(route, str):
        return None
    return Pin(model, route)
