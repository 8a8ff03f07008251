"""Redis calls that never hurt the request path: a time budget per operation, a cool-down
after a failure, and rate-limited warnings.

Shared by the stores whose contract is "degrade, never fail" (affinity pins, failover blocks):
a failed or skipped operation returns None, is counted under the store's label, and opens a
cool-down during which Redis is not contacted; then a single probe call tries again.

Reconnection is redis-py's: the pool re-checks a pooled connection before each command and
reconnects when the server closed it (a restart); a command that still hits a dead connection is
retried once, immediately, on a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from plano_extproc.resilience import CoolDownBreaker, WarningThrottle

logger = logging.getLogger(__name__)

DEFAULT_OP_TIMEOUT_SECONDS = 0.1
DEFAULT_COOLDOWN_SECONDS = 1.0
WARNING_INTERVAL_SECONDS = 30.0
BACKEND = "redis"

_T = TypeVar("_T")


class BudgetedRedis:
    """One Redis client and its failure policy. `errors` is a counter labelled
    (backend, operation); `what` names the store in warnings ("redis affinity"), which go out
    at most once per `warning_interval` seconds."""

    def __init__(
        self,
        url: str,
        *,
        errors: Counter,
        what: str,
        op_timeout: float = DEFAULT_OP_TIMEOUT_SECONDS,
        cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        client: Redis | None = None,
        warning_interval: float = WARNING_INTERVAL_SECONDS,
    ) -> None:
        if op_timeout <= 0:
            raise ValueError("op_timeout must be positive")
        if cooldown_seconds < 0:
            raise ValueError("cooldown_seconds must not be negative")
        self.client = client if client is not None else _connect(url, op_timeout)
        self._errors = errors
        self._what = what
        self._op_timeout = op_timeout
        self._breaker = CoolDownBreaker(cooldown_seconds, clock)
        self._outage_log = WarningThrottle(warning_interval, clock, logger)

    async def call(self, operation: str, command: Callable[[], Awaitable[_T]]) -> _T | None:
        """Run `command` within the time budget; None when skipped or failed (counted, logged)."""
        if not self._breaker.allows_call():
            self._errors.labels(BACKEND, operation).inc()
            return None
        try:
            async with asyncio.timeout(self._op_timeout):
                result = await command()
        except asyncio.CancelledError:
            self._breaker.record_abandoned()
            raise
        # Broad on purpose: the stores' contract is that nothing reaches the request path.
        except Exception as exc:
            self._record_failure(operation, exc)
            return None
        if self._breaker.record_success():
            self._outage_log.resolved(f"{self._what} store reachable again")
        return result

    async def close(self) -> None:
        await self.client.aclose()

    def _record_failure(self, operation: str, exc: Exception) -> None:
        self._errors.labels(BACKEND, operation).inc()
        self._breaker.record_failure()
        self._outage_log.warn(
            "%s %s failed (%s: %s); degraded, Redis skipped for %.1fs",
            self._what,
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
