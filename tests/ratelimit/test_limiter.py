"""Which buckets a request draws on, and what metrics it may create."""

from __future__ import annotations

from plano_extproc.config import load_config_text
from plano_extproc.ratelimit.limiter import MAX_LABELLED_VALUES, OTHER_VALUES, RateLimiter
from plano_extproc.ratelimit.store import MemoryBucketStore

CONFIG = """
version: v0.4.0
model_providers:
  - {model: openai/gpt-4o, access_key: k}
  - {model: openai/*, access_key: k}
ratelimits:
  - model: openai/gpt-4o
    selector: {key: x-user-id, value: "*"}
    limit: {tokens: 100, unit: minute}
  - {model: openai/gpt-4o, selector: {key: x-org, value: acme}, limit: {tokens: 1000, unit: hour}}
  - {model: openai/*, selector: {key: x-org, value: "*"}, limit: {tokens: 50, unit: second}}
"""


def limiter() -> tuple[RateLimiter, object]:
    config = load_config_text(CONFIG, {})
    return RateLimiter(config.ratelimits, MemoryBucketStore()), config


def test_every_entry_whose_header_the_request_carries_applies() -> None:
    rl, config = limiter()
    gpt = config.provider_by_name["openai/gpt-4o"]

    both = rl.applied(gpt, {"x-user-id": "alice", "x-org": "acme"})
    other_org = rl.applied(gpt, {"x-user-id": "alice", "x-org": "globex"})
    no_headers = rl.applied(gpt, {})

    assert [a.bucket[1].tokens for a in both] == [100, 1000]
    assert [a.bucket[1].tokens for a in other_org] == [100]
    assert no_headers == []


def test_a_wildcard_entry_limits_each_model_it_serves_on_its_own() -> None:
    rl, config = limiter()
    mini = config.provider_by_name["openai/gpt-4o-mini"]
    nano = config.provider_by_name["openai/gpt-4.1-nano"]

    (for_mini,) = rl.applied(mini, {"x-org": "acme"})
    (for_nano,) = rl.applied(nano, {"x-org": "acme"})

    assert for_mini.bucket[0] != for_nano.bucket[0]
    assert for_mini.bucket[0].startswith("openai/gpt-4o-mini|x-org|")


def test_a_hostile_value_becomes_a_digest_in_keys_and_labels() -> None:
    rl, config = limiter()
    gpt = config.provider_by_name["openai/gpt-4o"]
    huge = "x" * 1_000_000

    (applied,) = rl.applied(gpt, {"x-user-id": huge})

    assert len(applied.bucket[0]) < 100
    assert "xxxx" not in applied.bucket[0]
    labels = applied.tokens._labelvalues  # type: ignore[attr-defined]
    assert labels[2].startswith("#")
    assert len(labels[2]) == 9


def test_distinct_values_create_bounded_metric_series() -> None:
    rl, config = limiter()
    gpt = config.provider_by_name["openai/gpt-4o"]

    labels = {
        rl.applied(gpt, {"x-user-id": f"user-{n}"})[0].tokens._labelvalues[2]  # type: ignore[attr-defined]
        for n in range(10_000)
    }

    assert len(labels) == MAX_LABELLED_VALUES + 1
    assert OTHER_VALUES in labels
    assert "user-0" in labels


async def test_take_counts_tokens_and_refusals() -> None:
    rl, config = limiter()
    gpt = config.provider_by_name["openai/gpt-4o"]
    applied = rl.applied(gpt, {"x-user-id": "bob"})

    first = await rl.take(applied, 80)
    second = await rl.take(applied, 80)

    assert first.allowed
    assert not second.allowed
    assert applied[0].tokens._value.get() >= 80  # type: ignore[attr-defined]
    assert applied[0].limited._value.get() >= 1  # type: ignore[attr-defined]
