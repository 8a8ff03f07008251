"""Which first attempts Envoy can judge alone: a policy's first failures must each be either
retried or passed on as they are, on statuses the failover route retries."""

from __future__ import annotations

from plano_extproc.config.retry_policy import (
    HighLatencyRule,
    RetryPolicy,
    RetryRule,
    RetryStrategy,
    StatusCodeRule,
)
from plano_extproc.failover.first_attempt import envoy_judges, envoy_retried_statuses, first_attempt

DEFAULTS = frozenset({429, 500, 502, 503, 504})
SAME = RetryRule(RetryStrategy.SAME_MODEL, 1)


def test_the_default_policy_retries_the_default_statuses_on_another_model() -> None:
    first = first_attempt(RetryPolicy())

    assert first.retried == DEFAULTS
    assert first.judged_by_status
    assert first.needs_alternative


def test_a_rule_may_add_any_status_and_keep_envoy_judging() -> None:
    policy = RetryPolicy(default=SAME, on_status_codes=(StatusCodeRule((408,), SAME),))

    first = first_attempt(policy)

    assert first.retried == DEFAULTS | {408}
    assert first.judged_by_status
    assert not first.needs_alternative


def test_a_failure_that_ends_the_request_at_once_needs_the_filter() -> None:
    # Its answer becomes `retry_exhausted`, which Envoy cannot write.
    never = RetryRule(RetryStrategy.DIFFERENT_PROVIDER, 0)
    policy = RetryPolicy(on_status_codes=(StatusCodeRule((429,), never),))

    assert not first_attempt(policy).judged_by_status


def test_timing_answers_needs_the_filter() -> None:
    policy = RetryPolicy(on_high_latency=HighLatencyRule(threshold_ms=100, rule=SAME))

    assert not first_attempt(policy).judged_by_status


def test_a_timeout_retried_unlike_a_providers_504_needs_the_filter() -> None:
    # Envoy sees both as a 504: it cannot retry one and pass the other on.
    never = RetryRule(RetryStrategy.SAME_MODEL, 0)
    policy = RetryPolicy(on_status_codes=(StatusCodeRule((504,), never),), on_timeout=SAME)

    assert not first_attempt(policy).judged_by_status


def test_the_route_retries_the_statuses_of_the_policies_envoy_judges() -> None:
    extra = RetryPolicy(on_status_codes=(StatusCodeRule((408,), SAME),))
    timed = RetryPolicy(on_high_latency=HighLatencyRule(threshold_ms=100, rule=SAME))

    assert envoy_retried_statuses([RetryPolicy(), timed]) == DEFAULTS
    assert envoy_retried_statuses([RetryPolicy(), extra]) == DEFAULTS | {408}
    assert envoy_retried_statuses([timed]) == frozenset()


def test_envoy_judges_a_request_only_where_its_statuses_are_the_policys() -> None:
    first = first_attempt(RetryPolicy())

    assert envoy_judges(first, DEFAULTS, candidates=2)
    # Another policy made the route retry 408 too: this one would pass a 408 on.
    assert not envoy_judges(first, DEFAULTS | {408}, candidates=2)
    # Another model is needed and there is none: the first failure is `retry_exhausted`.
    assert not envoy_judges(first, DEFAULTS, candidates=1)
    assert envoy_judges(first_attempt(RetryPolicy(default=SAME)), DEFAULTS, candidates=1)
