"""The pure failover decisions: which rule a failure falls under, where the next attempt goes,
how long it waits, and what the client sees when every attempt failed."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from plano_extproc.config.retry_policy import (
    AttemptTimeout,
    Backoff,
    BackoffApplyTo,
    BlockScope,
    RetryAfterHandling,
    RetryPolicy,
    RetryRule,
    RetryStrategy,
    StatusCodeRule,
)
from plano_extproc.failover.policy import (
    Attempt,
    attempt_timeout_ms,
    attempts_header,
    backoff_seconds,
    exhausted_error,
    failover_candidates,
    max_delay_seconds,
    max_retries,
    models_in_scope,
    next_retry,
    retry_after_seconds,
    rule_for,
    unblocked_first,
)

A, B, C = "openai/a", "anthropic/b", "openai/c"
CANDIDATES = (A, B, C)
FAMILY = {A: "openai", B: "anthropic", C: "openai"}
DIFFERENT = RetryRule(RetryStrategy.DIFFERENT_PROVIDER, 2)
NO_BACKOFF = Backoff(BackoffApplyTo.SAME_MODEL, base_ms=1, max_ms=1)


def policy(**changes: object) -> RetryPolicy:
    values: dict[str, object] = {"backoff": NO_BACKOFF, **changes}
    return RetryPolicy(**values)  # type: ignore[arg-type]


def retry(p: RetryPolicy, *attempts: Attempt) -> tuple[str, float] | None:
    result = next_retry(p, CANDIDATES, attempts, FAMILY.__getitem__, random.Random(1))
    return None if result is None else (result.model, result.delay_s)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_rate_limits_and_server_errors_fall_under_the_default_rule(status: int) -> None:
    assert rule_for(policy(), Attempt(A, status)) == policy().default


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_client_errors_are_final(status: int) -> None:
    assert rule_for(policy(), Attempt(A, status)) is None


def test_a_status_rule_wins_and_can_name_any_error() -> None:
    special = RetryRule(RetryStrategy.SAME_MODEL, 1)
    p = policy(on_status_codes=(StatusCodeRule((404, 429), special),))
    assert rule_for(p, Attempt(A, 404)) == special
    assert rule_for(p, Attempt(A, 429)) == special
    assert rule_for(p, Attempt(A, 503)) == p.default


def test_a_timeout_uses_on_timeout_else_the_default() -> None:
    timeout_rule = RetryRule(RetryStrategy.SAME_MODEL, 1)
    timed_out = Attempt(A, 504, timed_out=True)
    assert rule_for(policy(on_timeout=timeout_rule), timed_out) == timeout_rule
    assert rule_for(policy(), timed_out) == policy().default


def test_different_provider_walks_the_candidates_in_order() -> None:
    p = policy(default=DIFFERENT)
    assert retry(p, Attempt(A, 429)) == (B, 0.0)
    assert retry(p, Attempt(A, 429), Attempt(B, 503)) == (C, 0.0)


def test_the_candidates_running_out_ends_it() -> None:
    p = policy(default=RetryRule(RetryStrategy.DIFFERENT_PROVIDER, 5))
    assert retry(p, Attempt(A, 429), Attempt(B, 503), Attempt(C, 503)) is None


def test_max_attempts_counts_retries_after_the_first() -> None:
    p = policy(default=RetryRule(RetryStrategy.DIFFERENT_PROVIDER, 1))
    assert retry(p, Attempt(A, 429)) is not None
    assert retry(p, Attempt(A, 429), Attempt(B, 429)) is None
    assert retry(policy(default=RetryRule(RetryStrategy.SAME_MODEL, 0)), Attempt(A, 503)) is None


def test_same_model_retries_after_an_exponential_capped_backoff() -> None:
    p = policy(
        default=RetryRule(RetryStrategy.SAME_MODEL, 5),
        backoff=Backoff(BackoffApplyTo.SAME_MODEL, base_ms=100, max_ms=350),
    )
    failures = [Attempt(A, 503)]
    delays = []
    for _ in range(4):
        result = retry(p, *failures)
        assert result is not None
        assert result[0] == A
        delays.append(result[1])
        failures.append(Attempt(A, 503))
    assert delays == [0.1, 0.2, 0.35, 0.35]


def test_backoff_applies_only_where_apply_to_says() -> None:
    same_model = policy(backoff=Backoff(BackoffApplyTo.SAME_MODEL, 100, 1000))
    same_provider = policy(backoff=Backoff(BackoffApplyTo.SAME_PROVIDER, 100, 1000))
    every = policy(backoff=Backoff(BackoffApplyTo.GLOBAL, 100, 1000))
    # (same model, same provider family)
    assert backoff_seconds(same_model, 0, False, True) == 0.0
    assert backoff_seconds(same_provider, 0, False, True) == 0.1
    assert backoff_seconds(same_provider, 0, False, False) == 0.0
    assert backoff_seconds(every, 1, False, False) == 0.2


def test_jitter_draws_from_the_upper_half() -> None:
    p = policy(backoff=Backoff(BackoffApplyTo.GLOBAL, 1000, 1000, jitter=True))
    rng = random.Random(7)
    delays = [backoff_seconds(p, 0, True, True, rng) for _ in range(50)]
    assert all(0.5 <= d <= 1.0 for d in delays)
    assert len(set(delays)) > 1


def test_same_provider_prefers_a_sibling_model() -> None:
    p = policy(default=RetryRule(RetryStrategy.SAME_PROVIDER, 3))
    assert retry(p, Attempt(A, 429))[0] == C  # type: ignore[index]
    assert retry(p, Attempt(B, 429))[0] == B  # type: ignore[index]


def test_retry_after_is_waited_for_within_its_scope() -> None:
    limited = Attempt(A, 429, retry_after_s=3.0)
    same = policy(default=RetryRule(RetryStrategy.SAME_MODEL, 1))
    other = policy(default=DIFFERENT)
    provider_scope = policy(
        default=RetryRule(RetryStrategy.SAME_PROVIDER, 1),
        retry_after=RetryAfterHandling(scope=BlockScope.PROVIDER),
    )
    assert retry(same, limited) == (A, 3.0)
    assert retry(other, limited) == (B, 0.0)
    assert retry(provider_scope, limited) == (C, 3.0)


def test_retry_after_reads_seconds_and_http_dates_and_caps_them() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", 300) == 7.0
    assert retry_after_seconds("7000", 300) == 300.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", 300, now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", 300, now) == 0.0
    for unreadable in (None, "", "soon", "-1", "1.5e9x"):
        assert retry_after_seconds(unreadable, 300, now) is None


def test_candidates_come_from_fallback_models_then_ranking_then_config_order() -> None:
    declared = (A, B, C)
    with_fallbacks = policy(fallback_models=(C, A))
    assert failover_candidates(A, with_fallbacks, (A, B), declared) == (A, C)
    assert failover_candidates(B, policy(), (B, C), declared) == (B, C)
    assert failover_candidates(C, policy(), (), declared) == (C, A, B)


def test_blocked_models_go_last_and_block_scopes_cover_a_provider() -> None:
    assert unblocked_first((A, B, C), {A}) == (B, C, A)
    assert unblocked_first((A, B), {A, B}) == (A, B)
    assert models_in_scope(A, BlockScope.MODEL, FAMILY) == (A,)
    assert models_in_scope(A, BlockScope.PROVIDER, FAMILY) == (A, C)


def test_exhausted_error_lists_every_attempt() -> None:
    attempts = (Attempt(A, 429), Attempt(B, 504, timed_out=True))
    error = exhausted_error(attempts)["error"]
    assert error == {
        "type": "retry_exhausted",
        "message": "all 2 attempts failed: openai/a (429), anthropic/b (timeout)",
        "attempts": [
            {"model": A, "status": 429},
            {"model": B, "status": 504, "timeout": True},
        ],
        "total_attempts": 2,
    }
    assert attempts_header(attempts) == "openai/a;status=429, anthropic/b;status=504"


def test_envoy_caps_come_from_every_rule() -> None:
    p = policy(
        default=RetryRule(RetryStrategy.SAME_MODEL, 1),
        on_timeout=RetryRule(RetryStrategy.SAME_MODEL, 4),
        on_status_codes=(StatusCodeRule((429,), RetryRule(RetryStrategy.SAME_MODEL, 3)),),
    )
    assert max_retries([p, policy()]) == 4
    assert max_retries([]) == 0
    assert max_delay_seconds(300) == 270


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(), None),  # no on_timeout: the listener timeout, as before
        (RetryPolicy(on_timeout=DIFFERENT), 30_000),
        (RetryPolicy(on_timeout=DIFFERENT, attempt_timeout=AttemptTimeout(1.5)), 1_500),
        (RetryPolicy(on_timeout=DIFFERENT, attempt_timeout=AttemptTimeout(0.0001)), 1),
        (RetryPolicy(on_timeout=DIFFERENT, attempt_timeout=AttemptTimeout(60)), None),
    ],
)
def test_an_attempt_timeout_applies_under_on_timeout_when_shorter_than_the_listener_s(
    policy: RetryPolicy, expected: int | None
) -> None:
    assert attempt_timeout_ms(policy, listener_timeout_s=60) == expected
