"""Redis affinity store: pins shared by every replica pointing at the same Redis.

Values are compact JSON ``{"model": ..., "route": ...}`` written with ``SET key value NX EX ttl``,
so the first decision wins and its TTL is absolute (later writes and reads never extend it).

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

Reconnection is redis-py's: the pool re-checks a pooled connection before each command and
reconnects when the server closed it (a restart); a command that still hits a dead connection is
retried once, immediately, on a fresh one. TCP keepalive (redis-py's default) retires idle
connections to a vanished peer. No ``health_check_interval``: its PING would spend a round trip
of the per-operation budget and the checks above already cover what it would catch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from plano_extproc.affinity.base import Pin
from plano_extproc.telemetry.metrics import AFFINITY_ERRORS

logger = logging.getLogger(__name__)

BACKEND = "redis"
DEFAULT_OP_TIMEOUT_SECONDS = 0.1
DEFAULT_COOLDOWN_SECONDS = 1.0
WARNING_INTERVAL_SECONDS = 30.0

_T = TypeVar("_T")


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
        if op_timeout <= 0:
            raise ValueError("op_timeout must be positive")
        if cooldown_seconds < 0:
            raise ValueError("cooldown_seconds must not be negative")
        self._ttl = ttl_seconds
        self._op_timeout = op_timeout
        self._client = client if client is not None else _connect(url, op_timeout)
        self._breaker = _CoolDownBreaker(cooldown_seconds, clock)
        self._outage_log = _WarningThrottle(WARNING_INTERVAL_SECONDS, clock)
        self._decode_log = _WarningThrottle(WARNING_INTERVAL_SECONDS, clock)

    async def get(self, key: str) -> Pin | None:
        raw = await self._call("get", lambda: self._client.get(key))
        if raw is None:
            return None
        pin = _decode_pin(raw)
        if pin is None:
            AFFINITY_ERRORS.labels(BACKEND, "decode").inc()
            self._decode_log.warn("value under %r is not a valid pin; treated as a miss", key)
        return pin

    async def put(self, key: str, pin: Pin) -> None:
        value = orjson.dumps({"model": pin.model, "route": pin.route})
        await self._call("put", lambda: self._client.set(key, value, nx=True, ex=self._ttl))

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, operation: str, command: Callable[[], Awaitable[_T]]) -> _T | None:
        """Run `command` within the time budget; None when skipped or failed (counted, logged)."""
        if not self._breaker.allows_call():
            AFFINITY_ERRORS.labels(BACKEND, operation).inc()
            return None
        try:
            async with asyncio.timeout(self._op_timeout):
                result = await command()
        except asyncio.CancelledError:
            self._breaker.record_abandoned()
            raise
        # Broad on purpose: the store's contract is that nothing reaches the request path.
        except Exception as exc:
            self._record_failure(operation, exc)
            return None
        if self._breaker.record_success():
            self._outage_log.resolved("redis affinity store reachable again")
        return result

    def _record_failure(self, operation: str, exc: Exception) -> None:
        AFFINITY_ERRORS.labels(BACKEND, operation).inc()
        self._breaker.record_failure()
        self._outage_log.warn(
            "redis affinity %s failed (%s: %s); continuing unpinned, Redis skipped for %.1fs",
            operation,
            type(exc).__name__,
            exc,
            self._breaker.cooldown_seconds,
        )


def _connect(url: str, op_timeout: float) -> Redis:
    # One immediate retry, on connection errors only: it replaces a connection the server dropped;
    # a timeout has already used the budget.
    retry = Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,))
    return Redis.from_url(
        url,
        socket_timeout=op_timeout,
        socket_connect_timeout=op_timeout,
        retry=retry,
    )


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


class _CoolDownBreaker:
    """Closed until a failure; then open for `cooldown_seconds`; then one probe call is let
    through (others still skip) and its outcome closes or re-opens the breaker."""

    def __init__(self, cooldown_seconds: float, clock: Callable[[], float]) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._open_until: float | None = None
        self._probing = False

    def allows_call(self) -> bool:
        if self._open_until is None:
            return True
        if self._probing or self._clock() < self._open_until:
            return False
        self._probing = True
        return True

    def record_success(self) -> bool:
        """Close the breaker; True when it was open."""
        was_open = self._open_until is not None
        self._open_until = None
        self._probing = False
        return was_open

    def record_failure(self) -> None:
        self._open_until = self._clock() + self.cooldown_seconds
        self._probing = False

    def record_abandoned(self) -> None:
        """A call was cancelled without an outcome; if it was the probe, let the next call probe."""
        self._probing = False


class _WarningThrottle:
    """At most one warning per interval (with a count of the ones suppressed), and one info line
    when the problem is resolved after a warning went out."""

    def __init__(self, interval_seconds: float, clock: Callable[[], float]) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._last_warning_at: float | None = None
        self._suppressed = 0
        self._unresolved = False

    def warn(self, message: str, *args: object) -> None:
        now = self._clock()
        if self._last_warning_at is not None and now - self._last_warning_at < self._interval:
            self._suppressed += 1
            return
        suffix = f" ({self._suppressed} similar warnings suppressed)" if self._suppressed else ""
        logger.warning(message + suffix, *args)
        self._last_warning_at = now
        self._suppressed = 0
        self._unresolved = True

    def resolved(self, message: str) -> None:
        if self._unresolved:
            logger.info(message)
            self._unresolved = False
