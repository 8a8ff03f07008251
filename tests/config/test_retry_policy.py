"""A provider's `retry_policy`: every key read and validated with its location; a valid policy
loads without warnings."""

from __future__ import annotations

import pytest

from plano_extproc.config import load_config
from plano_extproc.config.retry_policy import (
    DEFAULT_ATTEMPT_TIMEOUT_S,
    ApplyTo,
    AttemptTimeout,
    Backoff,
    BlockScope,
    HighLatencyRule,
    LatencyMeasure,
    RetryAfterHandling,
    RetryPolicy,
    RetryRule,
    RetryStrategy,
    StatusCodeRule,
)
from tests.config.support import FIXTURES, KEYS, issues_of, load

DIFFERENT = RetryStrategy.DIFFERENT_PROVIDER
PROVIDERS = """\
    version: v0.4.0
    model_providers:
      - model: openai/gpt-4o
        access_key: $OPENAI_API_KEY
        retry_policy: {policy}
      - model: anthropic/claude-x
        access_key: $ANTHROPIC_API_KEY
"""


def with_policy(policy: str) -> str:
    return PROVIDERS.replace("{policy}", policy)


def test_every_key_of_plano_s_block_is_read() -> None:
    config = load_config(FIXTURES / "plano_failover.yaml", KEYS)
    policy = config.providers[0].retry_policy

    assert policy == RetryPolicy(
        fallback_models=("anthropic/claude-3-5-sonnet", "mistral/mistral-large"),
        default=RetryRule(DIFFERENT, 2),
        on_status_codes=(
            StatusCodeRule((429, 503), RetryRule(DIFFERENT, 2)),
            StatusCodeRule((500,), RetryRule(RetryStrategy.SAME_MODEL, 1)),
        ),
        on_timeout=RetryRule(DIFFERENT, 2),
        on_high_latency=HighLatencyRule(
            1000,
            RetryRule(DIFFERENT, 2),
            LatencyMeasure.TOTAL,
            1,
            60,
            BlockScope.MODEL,
            ApplyTo.GLOBAL,
        ),
        backoff=Backoff(base_ms=500, max_ms=5000, jitter=False),
        retry_after=RetryAfterHandling(BlockScope.MODEL, ApplyTo.GLOBAL, 300),
    )
    assert config.providers[1].retry_policy is None
    assert not [w for w in config.warnings if "retry_policy" in w]


def test_an_empty_block_gets_the_defaults() -> None:
    config = load(with_policy("{}"))
    assert config.providers[0].retry_policy == RetryPolicy()


def test_rules_without_their_own_strategy_take_the_defaults() -> None:
    policy = (
        "{default_strategy: same_model, default_max_attempts: 3, on_status_codes: [{codes: [429]}]}"
    )
    config = load(with_policy(policy))
    rule = config.providers[0].retry_policy.on_status_codes[0]  # type: ignore[union-attr]
    assert rule == StatusCodeRule((429,), RetryRule(RetryStrategy.SAME_MODEL, 3))


def test_problems_are_reported_where_they_are() -> None:
    policy = (
        "{fallback_models: [openai/gpt-9], default_strategy: elsewhere, default_max_attempts: 99,"
        " on_status_codes: [{codes: [200, 429]}, {strategy: same_model}],"
        " backoff: {base_ms: 900, max_ms: 100, curve: steep}}"
    )
    located = "model_providers[0].retry_policy"
    assert sorted(issues_of(with_policy(policy))) == sorted(
        [
            (f"{located}.fallback_models[0]", "'openai/gpt-9' is not a declared model provider"),
            (
                f"{located}.default_strategy",
                "unknown value 'elsewhere'; expected one of: different_provider, same_model, "
                "same_provider",
            ),
            (f"{located}.default_max_attempts", "must be between 0 and 10"),
            (f"{located}.on_status_codes[0].codes[0]", "must be an HTTP error status (400-599)"),
            (f"{located}.on_status_codes[1].codes", "missing required key"),
            (
                f"{located}.backoff.curve",
                "unknown key; expected one of: apply_to, base_ms, jitter, max_ms",
            ),
            (f"{located}.backoff.max_ms", "must not be below base_ms"),
        ]
    )


LOCATED_TIMEOUT = "model_providers[0].retry_policy.on_timeout.attempt_timeout_seconds"


def test_the_attempt_timeout_defaults_to_30_seconds() -> None:
    config = load(with_policy("{on_timeout: {strategy: different_provider}}"))
    policy = config.providers[0].retry_policy
    assert policy is not None
    assert policy.attempt_timeout == AttemptTimeout(DEFAULT_ATTEMPT_TIMEOUT_S)
    assert DEFAULT_ATTEMPT_TIMEOUT_S == 30.0


def test_the_attempt_timeout_is_read_from_on_timeout() -> None:
    config = load(with_policy("{on_timeout: {attempt_timeout_seconds: 2.5}}"))
    policy = config.providers[0].retry_policy
    assert policy is not None
    assert policy.attempt_timeout == AttemptTimeout(2.5)
    assert policy.attempt_timeout.where == LOCATED_TIMEOUT
    assert policy.on_timeout == RetryRule(DIFFERENT, 2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "must be a number, not a string"),
        ("true", "must be a number, not a boolean"),
        ("0", "must be a positive number of seconds"),
        ("-1", "must be a positive number of seconds"),
        (".inf", "must be a positive number of seconds"),
    ],
)
def test_a_bad_attempt_timeout_is_reported_where_it_is(value: str, message: str) -> None:
    policy = f"{{on_timeout: {{attempt_timeout_seconds: {value}}}}}"
    assert issues_of(with_policy(policy)) == [(LOCATED_TIMEOUT, message)]


def test_an_attempt_timeout_past_the_listener_timeout_is_an_error() -> None:
    listeners = "    listeners: [{type: model, name: egress, port: 12000, timeout: 20s}]\n"
    policy = "{on_timeout: {attempt_timeout_seconds: 21}}"
    assert issues_of(listeners + with_policy(policy)) == [
        (LOCATED_TIMEOUT, "must not exceed the listener timeout (20 seconds)")
    ]


def test_the_default_attempt_timeout_may_exceed_a_short_listener_timeout() -> None:
    listeners = "    listeners: [{type: model, name: egress, port: 12000, timeout: 10s}]\n"
    config = load(listeners + with_policy("{on_timeout: {}}"))
    assert config.providers[0].retry_policy.attempt_timeout.seconds == 30.0  # type: ignore[union-attr]
