"""Small failure-handling tools shared by the clients of outside services (Redis, the openai
classifier): a cool-down circuit breaker and a rate-limited warning."""

from __future__ import annotations

import logging
from collections.abc import Callable


class CoolDownBreaker:
    """Closed until `threshold` failures in a row; then open for `cooldown_seconds`; then one
    probe call is let through (others still skip) and its outcome closes or re-opens it."""

    def __init__(
        self, cooldown_seconds: float, clock: Callable[[], float], *, threshold: int = 1
    ) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._threshold = threshold
        self._failures = 0
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
        self._failures = 0
        return was_open

    def record_failure(self) -> None:
        self._failures += 1
        if self._failures >= self._threshold or self._probing:
            self._open_until = self._clock() + self.cooldown_seconds
        self._probing = False

    def record_abandoned(self) -> None:
        """A call was cancelled without an outcome; if it was the probe, let the next call probe."""
        self._probing = False


class WarningThrottle:
    """At most one warning per interval (with a count of the ones suppressed), and one info line
    when the problem is resolved after a warning went out."""

    def __init__(
        self, interval_seconds: float, clock: Callable[[], float], log: logging.Logger
    ) -> None:
        self._log = log
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
        self._log.warning(message + suffix, *args)
        self._last_warning_at = now
        self._suppressed = 0
        self._unresolved = True

    def resolved(self, message: str) -> None:
        if self._unresolved:
            self._log.info(message)
            self._unresolved = False
