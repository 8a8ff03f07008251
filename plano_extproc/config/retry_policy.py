"""A provider's `retry_policy` (Plano's failover block), read and validated.

Every key is optional. What the policy does to requests is `failover/policy.py`; how Envoy
carries it out is docs/failover-design.md.

Ours on top of Plano's format: `on_timeout.attempt_timeout_seconds`, how long one attempt of a
policy with `on_timeout` waits for its answer before it counts as timed out (default
`DEFAULT_ATTEMPT_TIMEOUT_S`, at most the listener timeout).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from plano_extproc.config.reader import Issues, KeySpec, Section, open_section

RETRY_POLICY = KeySpec.of(
    optional=[
        "fallback_models",
        "default_strategy",
        "default_max_attempts",
        "on_status_codes",
        "on_timeout",
        "on_high_latency",
        "backoff",
        "retry_after_handling",
    ]
)
STATUS_CODE_RULE = KeySpec.of(required=["codes"], optional=["strategy", "max_attempts"])
ATTEMPT_TIMEOUT_KEY = "attempt_timeout_seconds"
TIMEOUT_RULE = KeySpec.of(optional=["strategy", "max_attempts", ATTEMPT_TIMEOUT_KEY])
HIGH_LATENCY_RULE = KeySpec.of(
    required=["threshold_ms"],
    optional=[
        "measure",
        "min_triggers",
        "strategy",
        "max_attempts",
        "block_duration_seconds",
        "scope",
        "apply_to",
    ],
)
BACKOFF = KeySpec.of(optional=["apply_to", "base_ms", "max_ms", "jitter"])
RETRY_AFTER_HANDLING = KeySpec.of(optional=["scope", "apply_to", "max_retry_after_seconds"])
_MAX_ATTEMPTS = 10
# Plano's own per-try timeout (its listener `max_retries` route): long enough for a slow first
# token of a large prompt, short enough that a fallback still answers a waiting client.
DEFAULT_ATTEMPT_TIMEOUT_S = 30.0


class RetryStrategy(StrEnum):
    DIFFERENT_PROVIDER = "different_provider"
    SAME_MODEL = "same_model"
    SAME_PROVIDER = "same_provider"


class LatencyMeasure(StrEnum):
    TOTAL = "total"
    TTFB = "ttfb"


class BlockScope(StrEnum):
    MODEL = "model"
    PROVIDER = "provider"


class ApplyTo(StrEnum):
    GLOBAL = "global"
    REQUEST = "request"


class BackoffApplyTo(StrEnum):
    SAME_MODEL = "same_model"
    SAME_PROVIDER = "same_provider"
    GLOBAL = "global"


@dataclass(frozen=True, slots=True)
class RetryRule:
    strategy: RetryStrategy
    max_attempts: int


@dataclass(frozen=True, slots=True)
class StatusCodeRule:
    codes: tuple[int, ...]
    rule: RetryRule


@dataclass(frozen=True, slots=True)
class HighLatencyRule:
    threshold_ms: int
    rule: RetryRule
    measure: LatencyMeasure = LatencyMeasure.TOTAL
    min_triggers: int = 1
    block_duration_seconds: int = 60
    scope: BlockScope = BlockScope.MODEL
    apply_to: ApplyTo = ApplyTo.GLOBAL


@dataclass(frozen=True, slots=True)
class Backoff:
    apply_to: BackoffApplyTo = BackoffApplyTo.SAME_MODEL
    base_ms: int = 500
    max_ms: int = 5000
    jitter: bool = False


@dataclass(frozen=True, slots=True)
class RetryAfterHandling:
    scope: BlockScope = BlockScope.MODEL
    apply_to: ApplyTo = ApplyTo.GLOBAL
    max_retry_after_seconds: int = 300


@dataclass(frozen=True, slots=True)
class AttemptTimeout:
    """How long an attempt under `on_timeout` waits for its answer's headers."""

    seconds: float = DEFAULT_ATTEMPT_TIMEOUT_S
    # The key's location when the config sets it, for checks against the listener timeout.
    where: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    fallback_models: tuple[str, ...] = ()
    default: RetryRule = RetryRule(RetryStrategy.DIFFERENT_PROVIDER, 2)
    on_status_codes: tuple[StatusCodeRule, ...] = ()
    on_timeout: RetryRule | None = None
    on_high_latency: HighLatencyRule | None = None
    backoff: Backoff = Backoff()
    retry_after: RetryAfterHandling = RetryAfterHandling()
    attempt_timeout: AttemptTimeout = AttemptTimeout()


def read_retry_policy(section: Section, declared: frozenset[str]) -> RetryPolicy:
    """`section` is the provider's `retry_policy`; `declared` holds the provider names."""
    defaults = RetryPolicy()
    default = _rule(section, "default_strategy", "default_max_attempts", defaults.default)
    on_timeout = section.section("on_timeout", TIMEOUT_RULE)
    return RetryPolicy(
        fallback_models=_fallback_models(section, declared),
        default=default,
        on_status_codes=tuple(_status_rules(section, default)),
        on_timeout=_optional_rule(on_timeout, default),
        on_high_latency=_high_latency(
            section.section("on_high_latency", HIGH_LATENCY_RULE), default
        ),
        backoff=_backoff(section.section("backoff", BACKOFF)),
        retry_after=_retry_after(section.section("retry_after_handling", RETRY_AFTER_HANDLING)),
        attempt_timeout=_attempt_timeout(on_timeout),
    )


def check_attempt_timeouts(
    policies: Iterable[RetryPolicy], listener_timeout_s: float, issues: Issues
) -> None:
    """An attempt timeout set longer than the listener timeout, which ends every attempt
    first, is an error; the default is simply capped by it."""
    for policy in policies:
        timeout = policy.attempt_timeout
        if timeout.where and timeout.seconds > listener_timeout_s:
            issues.error(
                timeout.where,
                f"must not exceed the listener timeout ({listener_timeout_s:g} seconds)",
            )


def _fallback_models(section: Section, declared: frozenset[str]) -> tuple[str, ...]:
    models = section.texts("fallback_models")
    for position, model in enumerate(models):
        if model not in declared:
            section.issues.error(
                f"{section.where('fallback_models')}[{position}]",
                f"'{model}' is not a declared model provider",
            )
    return models


def _rule(section: Section, strategy_key: str, attempts_key: str, default: RetryRule) -> RetryRule:
    strategy = section.choice(strategy_key, RetryStrategy, default.strategy) or default.strategy
    attempts = section.integer(attempts_key, default.max_attempts, minimum=0, maximum=_MAX_ATTEMPTS)
    return RetryRule(strategy, attempts)


def _optional_rule(section: Section | None, default: RetryRule) -> RetryRule | None:
    return None if section is None else _rule(section, "strategy", "max_attempts", default)


def _attempt_timeout(section: Section | None) -> AttemptTimeout:
    seconds = None if section is None else section.number(ATTEMPT_TIMEOUT_KEY)
    if section is None or seconds is None:
        return AttemptTimeout()
    where = section.where(ATTEMPT_TIMEOUT_KEY)
    if not math.isfinite(seconds) or seconds <= 0:
        section.issues.error(where, "must be a positive number of seconds")
        return AttemptTimeout()
    return AttemptTimeout(seconds, where)


def _status_rules(section: Section, default: RetryRule) -> list[StatusCodeRule]:
    rules = []
    for location, item in section.items("on_status_codes"):
        rule = open_section(item, location, STATUS_CODE_RULE, section.issues)
        if rule is None:
            continue
        codes = []
        for code_location, code in rule.items("codes"):
            if isinstance(code, bool) or not isinstance(code, int) or not 400 <= code <= 599:
                section.issues.error(code_location, "must be an HTTP error status (400-599)")
            else:
                codes.append(code)
        rules.append(StatusCodeRule(tuple(codes), _rule(rule, "strategy", "max_attempts", default)))
    return rules


def _high_latency(section: Section | None, default: RetryRule) -> HighLatencyRule | None:
    if section is None:
        return None
    defaults = HighLatencyRule(0, default)
    return HighLatencyRule(
        threshold_ms=section.integer("threshold_ms", 0, minimum=1),
        rule=_rule(section, "strategy", "max_attempts", default),
        measure=section.choice("measure", LatencyMeasure, defaults.measure) or defaults.measure,
        min_triggers=section.integer("min_triggers", defaults.min_triggers, minimum=1),
        block_duration_seconds=section.integer(
            "block_duration_seconds", defaults.block_duration_seconds, minimum=1
        ),
        scope=section.choice("scope", BlockScope, defaults.scope) or defaults.scope,
        apply_to=section.choice("apply_to", ApplyTo, defaults.apply_to) or defaults.apply_to,
    )


def _backoff(section: Section | None) -> Backoff:
    defaults = Backoff()
    if section is None:
        return defaults
    base_ms = section.integer("base_ms", defaults.base_ms, minimum=1)
    max_ms = section.integer("max_ms", defaults.max_ms, minimum=1)
    if max_ms < base_ms:
        section.issues.error(section.where("max_ms"), "must not be below base_ms")
    apply_to = section.choice("apply_to", BackoffApplyTo, defaults.apply_to) or defaults.apply_to
    return Backoff(apply_to, base_ms, max_ms, section.flag("jitter"))


def _retry_after(section: Section | None) -> RetryAfterHandling:
    defaults = RetryAfterHandling()
    if section is None:
        return defaults
    return RetryAfterHandling(
        scope=section.choice("scope", BlockScope, defaults.scope) or defaults.scope,
        apply_to=section.choice("apply_to", ApplyTo, defaults.apply_to) or defaults.apply_to,
        max_retry_after_seconds=section.integer(
            "max_retry_after_seconds", defaults.max_retry_after_seconds, minimum=1
        ),
    )
