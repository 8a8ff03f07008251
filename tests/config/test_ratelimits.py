"""Plano's `ratelimits` section."""

from __future__ import annotations

import hashlib
import json

import pytest

from plano_extproc.config.model import RateLimitRule
from tests.config.support import HEAD, Case, invalid_cases, issues_of, load

PROVIDERS = """\
version: v0.4.0
model_providers:
  - {model: openai/gpt-4o, access_key: k}
  - {model: anthropic/claude-sonnet-4-5, name: sonnet, access_key: k}
  - {model: mistral/*, access_key: k}
model_aliases:
  fast: {target: openai/gpt-4o}
"""
DIGEST = hashlib.sha256(b"k").hexdigest()
AUTH = f"auth: {{api_keys: [{{name: a, key_sha256: {DIGEST}}}]}}\n"


def _entry(
    model: str = "openai/gpt-4o", key: str = "x-user", value: object = "*", **limit: object
) -> str:
    entry = {
        "model": model,
        "selector": {"key": key, "value": value},
        "limit": {"tokens": 1000, "unit": "minute", **limit},
    }
    return json.dumps(entry)


def _rules(*entries: str, head: str = PROVIDERS) -> tuple[RateLimitRule, ...]:
    text = head + "ratelimits:\n" + "".join(f"  - {entry}\n" for entry in entries)
    return load(text).ratelimits


def test_an_entry_loads_as_a_rule() -> None:
    rules = _rules(_entry(key="X-User-Id", value="*"), _entry(key="x-tenant", value="acme"))

    assert rules == (
        RateLimitRule("openai/gpt-4o", "x-user-id", None, 1000, 60),
        RateLimitRule("openai/gpt-4o", "x-tenant", "acme", 1000, 60),
    )


@pytest.mark.parametrize(
    ("model", "resolved"),
    [
        ("openai/gpt-4o", "openai/gpt-4o"),
        ("fast", "openai/gpt-4o"),
        ("gpt-4o", "openai/gpt-4o"),
        ("sonnet", "anthropic/claude-sonnet-4-5"),
        ("mistral/*", "mistral/*"),
        ("mistral/mistral-large-latest", "mistral/mistral-large-latest"),
    ],
    ids=["provider", "alias", "bare model id", "label", "wildcard entry", "under a wildcard"],
)
def test_the_model_resolves_to_a_provider_or_wildcard_entry(model: str, resolved: str) -> None:
    (rule,) = _rules(_entry(model=model))

    assert rule.model == resolved


@pytest.mark.parametrize(
    ("unit", "seconds"), [("second", 1), ("minute", 60), ("hour", 3600), ("day", 86_400)]
)
def test_each_unit_is_its_seconds(unit: str, seconds: int) -> None:
    (rule,) = _rules(_entry(unit=unit, tokens=10**12))

    assert (rule.unit_seconds, rule.tokens) == (seconds, 10**12)


def test_no_section_or_an_empty_one_limits_nothing() -> None:
    assert load(HEAD).ratelimits == ()
    assert load(HEAD + "ratelimits: []\n").ratelimits == ()


def test_the_authenticated_identity_selects_without_a_warning() -> None:
    config = load(
        PROVIDERS + AUTH + "ratelimits:\n"
        f"  - {_entry(key='x-plano-identity')}\n  - {_entry(key='X-Plano-Team', value='ml')}\n"
    )

    assert [rule.header for rule in config.ratelimits] == ["x-plano-identity", "x-plano-team"]
    assert config.warnings == ()


def test_the_identity_header_without_auth_loads_with_a_warning() -> None:
    config = load(PROVIDERS + f"ratelimits:\n  - {_entry(key='x-plano-identity')}\n")

    assert len(config.ratelimits) == 1
    assert config.warnings == (
        "ratelimits[0].selector.key: without an auth section, clients set x-plano-identity "
        "themselves: anyone can pick it",
    )


def _section(*entries: str) -> str:
    return PROVIDERS + "ratelimits:\n" + "".join(f"  - {entry}\n" for entry in entries)


TOKENS = "must be a whole number from 1 to 1000000000000"
CASES: list[Case] = [
    (
        "not a list",
        PROVIDERS + "ratelimits: {}\n",
        [("ratelimits", "must be a list, not a mapping")],
    ),
    (
        "an entry without selector and limit",
        _section("{model: openai/gpt-4o}"),
        [
            ("ratelimits[0].limit", "missing required key"),
            ("ratelimits[0].selector", "missing required key"),
        ],
    ),
    (
        "a selector without value, a limit without unit",
        _section("{model: fast, selector: {key: x-user}, limit: {tokens: 5}}"),
        [
            ("ratelimits[0].selector.value", "missing required key"),
            ("ratelimits[0].limit.unit", "missing required key"),
        ],
    ),
    (
        "a key Plano's schema does not have",
        _section(_entry().replace('"limit"', '"burst": 5, "limit"')),
        [("ratelimits[0].burst", "unknown key; expected one of: limit, model, selector")],
    ),
    (
        "an unknown model",
        _section(_entry(model="openai/gpt-5")),
        [("ratelimits[0].model", "'openai/gpt-5' is no declared model or alias")],
    ),
    (
        "a unit of a week",
        _section(_entry(unit="week")),
        [
            (
                "ratelimits[0].limit.unit",
                "unknown value 'week'; expected one of: day, hour, minute, second",
            )
        ],
    ),
    ("zero tokens", _section(_entry(tokens=0)), [("ratelimits[0].limit.tokens", TOKENS)]),
    ("negative tokens", _section(_entry(tokens=-5)), [("ratelimits[0].limit.tokens", TOKENS)]),
    ("fractional tokens", _section(_entry(tokens=1.5)), [("ratelimits[0].limit.tokens", TOKENS)]),
    ("tokens as text", _section(_entry(tokens="1k")), [("ratelimits[0].limit.tokens", TOKENS)]),
    (
        "tokens as a boolean",
        _section(_entry(tokens=True)),
        [("ratelimits[0].limit.tokens", TOKENS)],
    ),
    (
        "too many tokens",
        _section(_entry(tokens=10**12 + 1)),
        [("ratelimits[0].limit.tokens", TOKENS)],
    ),
    (
        "a header name with a space",
        _section(_entry(key="x user")),
        [
            (
                "ratelimits[0].selector.key",
                "must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~",
            )
        ],
    ),
    (
        "a pseudo-header",
        _section(_entry(key=":path")),
        [("ratelimits[0].selector.key", "':path' is a pseudo-header; name a request header")],
    ),
    (
        "an empty header name",
        _section(_entry(key="")),
        [("ratelimits[0].selector.key", "must not be empty")],
    ),
    (
        "an empty value",
        _section(_entry(value="")),
        [("ratelimits[0].selector.value", "must not be empty")],
    ),
    (
        "a value no header can have",
        _section(_entry(value="acme ")),
        [
            (
                "ratelimits[0].selector.value",
                "no header value can match it (edge whitespace or control characters)",
            )
        ],
    ),
    (
        "a value that is not a string",
        _section(_entry(value=42)),
        [("ratelimits[0].selector.value", "must be a string, not an integer")],
    ),
    (
        "the same model, header and value twice",
        _section(_entry(), _entry(model="fast", key="X-User", unit="day")),
        [("ratelimits[1]", "repeats ratelimits[0]")],
    ),
]


@invalid_cases(CASES)
def test_invalid_config_reports_exact_issues(text: str, expected: list[tuple[str, str]]) -> None:
    assert issues_of(text) == expected


def test_every_entry_is_checked_and_the_valid_ones_kept_apart() -> None:
    issues = issues_of(_section(_entry(tokens=0), _entry(model="nope", key=":authority")))

    assert issues == [
        ("ratelimits[0].limit.tokens", TOKENS),
        ("ratelimits[1].model", "'nope' is no declared model or alias"),
        ("ratelimits[1].selector.key", "':authority' is a pseudo-header; name a request header"),
    ]
