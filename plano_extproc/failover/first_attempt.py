"""Which first attempts Envoy can judge alone, without the attempt filter.

Most requests with a `retry_policy` are answered by their first attempt, and passing that
attempt through the attempt filter costs a gRPC stream of three messages. When a policy's
judgement of a *first* failure depends on its status alone (retry it, or pass it on as it is),
Envoy's own `retriable-status-codes` can make it: the routing filter rewrites the request for
the first model, and the attempt filter only sees the attempts after it (docs/failover-design.md,
"The first attempt").

A first failure Envoy cannot judge alone makes the policy need the filter on every attempt:
a rule with `max_attempts: 0` (its failure becomes the `retry_exhausted` error, which Envoy
cannot write), `on_high_latency` (the filter times the attempt), or a timeout retried
differently from a provider's own 504 (Envoy sees both as a 504).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from plano_extproc.config.retry_policy import RetryPolicy, RetryRule, RetryStrategy
from plano_extproc.failover.policy import (
    DEFAULT_RETRIABLE_STATUSES,
    TIMEOUT_STATUS,
    Attempt,
    rule_for,
)


@dataclass(frozen=True, slots=True)
class FirstAttempt:
    """How a policy treats its first attempt's failure."""

    # The statuses whose first failure is retried.
    retried: frozenset[int]
    # Every first failure is either retried or passed on unchanged: Envoy can judge it.
    judged_by_status: bool
    # A retried first failure may go to another model, so that one must exist.
    needs_alternative: bool


def first_attempt(policy: RetryPolicy) -> FirstAttempt:
    named = {code for rule in policy.on_status_codes for code in rule.codes}
    statuses = sorted(named | DEFAULT_RETRIABLE_STATUSES)
    rules = {s: r for s in statuses if (r := rule_for(policy, Attempt("", s))) is not None}
    timed_out = rule_for(policy, Attempt("", TIMEOUT_STATUS, timed_out=True))
    used: list[RetryRule] = [*rules.values(), *([timed_out] if timed_out else [])]
    judged = (
        policy.on_high_latency is None
        and all(rule.max_attempts >= 1 for rule in used)
        and TIMEOUT_STATUS in rules
    )
    return FirstAttempt(
        retried=frozenset(rules),
        judged_by_status=judged,
        needs_alternative=any(r.strategy is RetryStrategy.DIFFERENT_PROVIDER for r in used),
    )


def envoy_retried_statuses(policies: Iterable[RetryPolicy]) -> frozenset[int]:
    """The statuses Envoy retries on the failover route by itself: those of the policies whose
    first attempt it can judge (they must agree; a policy that retries other statuses keeps
    the attempt filter on its first attempt, which then vetoes any retry it does not want)."""
    judged = [f for f in map(first_attempt, policies) if f.judged_by_status]
    return frozenset().union(*(f.retried for f in judged)) if judged else frozenset()


def envoy_judges(first: FirstAttempt, route_statuses: frozenset[int], candidates: int) -> bool:
    """Whether Envoy's retry of `route_statuses` is exactly the policy's first judgement, for
    a request with that many candidate models."""
    return (
        first.judged_by_status
        and first.retried == route_statuses
        and (candidates > 1 or not first.needs_alternative)
    )
