"""The failover decisions of a `retry_policy`, as pure functions of what happened so far.

Envoy makes the attempts; the attempt filter asks `next_retry` after each failed one and tells
Envoy to retry (or not) accordingly. `max_attempts` counts retries after the first attempt.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from plano_extproc.config.retry_policy import (
    BackoffApplyTo,
    BlockScope,
    RetryPolicy,
    RetryRule,
    RetryStrategy,
)

# Failures that are worth another attempt when no `on_status_codes` rule names them: rate
# limits and server-side errors. Other 4xx are the request's fault and fail the same anywhere.
DEFAULT_RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT_STATUS = 504


@dataclass(frozen=True, slots=True)
class Attempt:
    """One upstream attempt: its model and, once answered, its status."""

    model: str
    status: int = 0
    timed_out: bool = False
    retry_after_s: float | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"model": self.model, "status": self.status}
        if self.timed_out:
            out["timeout"] = True
        return out


@dataclass(frozen=True, slots=True)
class Retry:
    model: str
    delay_s: float


def rule_for(policy: RetryPolicy, attempt: Attempt) -> RetryRule | None:
    """The rule a failed attempt falls under; None when it must not be retried."""
    if attempt.timed_out:
        return policy.on_timeout or policy.default
    for rule in policy.on_status_codes:
        if attempt.status in rule.codes:
            return rule.rule
    return policy.default if attempt.status in DEFAULT_RETRIABLE_STATUSES else None


def is_retriable(policy: RetryPolicy, attempt: Attempt) -> bool:
    return rule_for(policy, attempt) is not None


def next_retry(
    policy: RetryPolicy,
    candidates: Sequence[str],
    attempts: Sequence[Attempt],
    family_of: Callable[[str], str],
    rng: random.Random | None = None,
) -> Retry | None:
    """Where and when the next attempt goes, or None when the last failure is final: not
    retriable, its rule's retries are spent, or no candidate is left."""
    last = attempts[-1]
    rule = rule_for(policy, last)
    retries_so_far = len(attempts) - 1
    if rule is None or retries_so_far >= rule.max_attempts:
        return None
    tried = {a.model for a in attempts}
    target = _target(rule.strategy, last.model, candidates, tried, family_of)
    if target is None:
        return None
    same_model = target == last.model
    same_family = family_of(target) == family_of(last.model)
    delay = backoff_seconds(policy, retries_so_far, same_model, same_family, rng)
    if last.retry_after_s is not None and _in_scope(
        policy.retry_after.scope, same_model, same_family
    ):
        delay = max(delay, last.retry_after_s)
    return Retry(target, delay)


def _target(
    strategy: RetryStrategy,
    current: str,
    candidates: Sequence[str],
    tried: set[str],
    family_of: Callable[[str], str],
) -> str | None:
    if strategy is RetryStrategy.SAME_MODEL:
        return current
    untried = [c for c in candidates if c not in tried]
    if strategy is RetryStrategy.SAME_PROVIDER:
        family = family_of(current)
        return next((c for c in untried if family_of(c) == family), current)
    return untried[0] if untried else None


def _in_scope(scope: BlockScope, same_model: bool, same_family: bool) -> bool:
    return same_model if scope is BlockScope.MODEL else same_family


def backoff_seconds(
    policy: RetryPolicy,
    retry_index: int,
    same_model: bool,
    same_family: bool,
    rng: random.Random | None = None,
) -> float:
    """`base_ms * 2**retry_index`, capped at `max_ms`, for the retries `apply_to` covers;
    with `jitter`, a uniform draw from the upper half of that."""
    backoff = policy.backoff
    applies = {
        BackoffApplyTo.SAME_MODEL: same_model,
        BackoffApplyTo.SAME_PROVIDER: same_family,
        BackoffApplyTo.GLOBAL: True,
    }[backoff.apply_to]
    if not applies:
        return 0.0
    delay_ms = min(backoff.base_ms * 2**retry_index, backoff.max_ms)
    if backoff.jitter:
        delay_ms *= (rng or random).uniform(0.5, 1.0)
    return delay_ms / 1000


def retry_after_seconds(
    value: str | None, cap_s: float, now: datetime | None = None
) -> float | None:
    """A `Retry-After` header (delay seconds or an HTTP date) as seconds from now, capped;
    None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), cap_s)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), cap_s)


def failover_candidates(
    primary: str,
    policy: RetryPolicy,
    ranked: Sequence[str],
    declared: Iterable[str],
) -> tuple[str, ...]:
    """The models a request may be sent to, in order: the chosen one, then `fallback_models`;
    without those, the rest of a routed decision's ranked models; else every other declared
    provider in config order."""
    if policy.fallback_models:
        rest: Iterable[str] = policy.fallback_models
    elif len(ranked) > 1:
        rest = ranked
    else:
        rest = declared
    return tuple(dict.fromkeys((primary, *rest)))


def unblocked_first(candidates: Sequence[str], blocked: set[str]) -> tuple[str, ...]:
    """Blocked models move to the end: a request skips them while anything else is left."""
    return (
        *(c for c in candidates if c not in blocked),
        *(c for c in candidates if c in blocked),
    )


def models_in_scope(model: str, scope: BlockScope, family_of: Mapping[str, str]) -> tuple[str, ...]:
    """The models a block on `model` covers: itself, or every model of its provider."""
    if scope is BlockScope.MODEL:
        return (model,)
    family = family_of.get(model)
    return tuple(m for m, f in family_of.items() if f == family) or (model,)


def exhausted_error(attempts: Sequence[Attempt]) -> dict[str, object]:
    """The body a client gets when every allowed attempt failed."""
    tried = ", ".join(f"{a.model} ({_outcome(a)})" for a in attempts)
    return {
        "error": {
            "type": "retry_exhausted",
            "message": f"all {len(attempts)} attempts failed: {tried}",
            "attempts": [a.to_json() for a in attempts],
            "total_attempts": len(attempts),
        }
    }


def _outcome(attempt: Attempt) -> str:
    return "timeout" if attempt.timed_out else str(attempt.status)


def attempts_header(attempts: Sequence[Attempt]) -> str:
    """`x-plano-attempts`: each attempt as `model;status=N`, in order."""
    return ", ".join(f"{a.model};status={a.status}" for a in attempts)


def max_retries(policies: Iterable[RetryPolicy]) -> int:
    """The most retries any rule of `policies` allows: Envoy's cap for the failover route."""
    rules = [
        rule
        for policy in policies
        for rule in (
            policy.default,
            policy.on_timeout,
            *(r.rule for r in policy.on_status_codes),
        )
        if rule is not None
    ]
    return max((rule.max_attempts for rule in rules), default=0)


def max_delay_seconds(listener_timeout_s: float) -> float:
    """The longest wait before a retry (backoff or Retry-After). Below the listener timeout,
    which is also how long a stream may stay silent."""
    return listener_timeout_s * 0.9


def attempt_timeout_ms(policy: RetryPolicy, listener_timeout_s: float) -> int | None:
    """How long, in whole milliseconds, one attempt of `policy` may wait for its answer's
    headers: only a policy with `on_timeout` has such a limit, and only one shorter than the
    listener timeout, which ends every attempt anyway; else None."""
    seconds = policy.attempt_timeout.seconds
    if policy.on_timeout is None or seconds >= listener_timeout_s:
        return None
    return max(1, math.ceil(seconds * 1000))
