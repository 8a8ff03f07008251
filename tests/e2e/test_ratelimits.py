"""Plano's `ratelimits` through real Envoy (and real Redis): token buckets per selector value,
charged with the prompt's estimate and corrected by the provider's usage, shared by replicas,
failing over to the next ranked model, and never failing a request when Redis is gone."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from plano_extproc.envoy.render import TRANSLATE_STAT_PREFIX, USAGE_STAT_PREFIX
from tests.support.gateway import (
    NATIVE_ANTHROPIC_MODEL,
    Gateway,
    gateway_config,
    running_gateway,
)
from tests.support.redis_server import running_redis_server
from tests.support.upstream import ErrorReply, JsonReply, StreamReply, UpstreamServer

pytestmark = pytest.mark.e2e

USAGE_STREAMS = f"ext_proc.{USAGE_STAT_PREFIX}.streams_started"
TRANSLATE_STREAMS = f"ext_proc.{TRANSLATE_STAT_PREFIX}.streams_started"

MINI = "openai/gpt-4o-mini"
HELLO = [{"role": "user", "content": "hello there"}]
REASONING = [
    {
        "role": "user",
        "content": "Explain the trade-offs between microservices and monolithic architectures",
    }
]


def rule(model: str, key: str, value: str, tokens: int) -> dict[str, Any]:
    return {
        "model": model,
        "selector": {"key": key, "value": value},
        "limit": {"tokens": tokens, "unit": "minute"},
    }


def answer(prompt_tokens: int, completion_tokens: int) -> JsonReply:
    """A chat completion reporting this usage."""
    body = {
        "id": "chatcmpl-rl",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return JsonReply(200, body)


def chat(gateway: Gateway, user: str | None, **body: Any) -> httpx.Response:
    headers = {} if user is None else {"x-user-id": user}
    payload = {"model": MINI, "messages": HELLO, **body}
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions", json=payload, headers=headers, timeout=30
    )


def response_streams(gateway: Gateway) -> tuple[int, int]:
    """Streams the usage filter and the translating filter have opened so far."""
    stats = httpx.get(f"{gateway.admin_url}/stats", params={"filter": "streams_started"}).text
    counts = dict(line.rsplit(": ", 1) for line in stats.splitlines())

    def count(stat: str) -> int:  # after the listener's own prefix
        return sum(int(value) for name, value in counts.items() if name.endswith("." + stat))

    return count(USAGE_STREAMS), count(TRANSLATE_STREAMS)


@pytest.fixture(scope="module")
def limited_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    overrides = {
        "ratelimits": [
            rule(MINI, "x-user-id", "*", 120),
            rule("openai/gpt-4o", "x-user-id", "alice", 1),
            rule(NATIVE_ANTHROPIC_MODEL, "x-user-id", "*", 60),
        ]
    }
    with running_gateway(
        tmp_path_factory.mktemp("ratelimits"), upstream_server, overrides=overrides
    ) as gateway:
        yield gateway


@pytest.fixture
def limited(limited_module: Gateway, upstream: UpstreamServer) -> Gateway:
    return limited_module


def test_each_value_has_its_own_bucket_corrected_by_the_reported_usage(
    limited: Gateway, upstream: UpstreamServer
) -> None:
    # Each answer reports 50 tokens; the estimate of the prompt is about 10. Uncorrected,
    # alice would get about 12 requests through 120 tokens a minute; corrected, 3.
    upstream.script_model("gpt-4o-mini", *[answer(40, 10) for _ in range(20)])
    before = response_streams(limited)

    alice = [chat(limited, "alice-json").status_code for _ in range(5)]
    bob = chat(limited, "bob-json")
    anonymous = [chat(limited, None).status_code for _ in range(5)]

    assert alice == [200, 200, 200, 429, 429]
    assert bob.status_code == 200
    assert anonymous == [200] * 5  # no header: that entry does not count it (Plano's rule)
    # The four charged answers were read by the usage filter; none was held by the
    # translating filter, and no uncharged answer was read at all.
    usage, translate = (a - b for a, b in zip(response_streams(limited), before, strict=True))
    assert (usage, translate) == (4, 0)


def test_a_refusal_is_a_429_with_retry_after_before_any_provider_call(
    limited: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("gpt-4o-mini", *[answer(100, 100) for _ in range(2)])
    chat(limited, "carol")  # 200 tokens: past the whole minute's 120

    refused = chat(limited, "carol")

    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "ratelimit_exceeded")
    assert len(upstream.requests) == 1


def test_a_stream_is_corrected_by_its_final_usage(
    limited: Gateway, upstream: UpstreamServer
) -> None:
    # 120 one-token pieces: the stream's own usage says so, and the next requests wait.
    pieces = tuple("x" for _ in range(120))
    upstream.script_model("gpt-4o-mini", StreamReply(pieces=pieces))

    streamed = chat(limited, "dave", stream=True, stream_options={"include_usage": True})
    after = chat(limited, "dave")

    assert streamed.status_code == 200
    assert '"usage"' in streamed.text
    assert after.status_code == 429


def test_a_translated_answer_corrects_the_charge_with_its_usage(limited: Gateway) -> None:
    # The chat request goes to Anthropic's Messages API; each answer reports about 40 tokens
    # (the test upstream's usage), the estimate about 10: two fit in 60, not three.
    statuses = [chat(limited, "fay", model=NATIVE_ANTHROPIC_MODEL).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_routed_request_goes_to_the_next_ranked_model_with_room(limited: Gateway) -> None:
    headers = {"x-user-id": "alice"}
    body = {"messages": REASONING}

    routed = httpx.post(f"{limited.base_url}/v1/chat/completions", json=body, headers=headers)
    decided = httpx.post(
        f"{limited.base_url}/routing/v1/chat/completions", json=body, headers=headers
    )

    assert routed.status_code == 200
    assert routed.headers["x-plano-model"] == MINI
    assert routed.headers["x-plano-route-fallback"] == "ratelimited"
    assert decided.json()["out_of_budget"] == ["openai/gpt-4o"]


def mini_falling_back_to_gpt_4o(upstream: UpstreamServer) -> list[dict[str, Any]]:
    """The test config's providers, the mini model with a `retry_policy` falling back to gpt-4o."""
    providers = gateway_config(upstream.url, 0)["model_providers"]
    for provider in providers:
        if provider["model"] == MINI:
            provider["retry_policy"] = {"fallback_models": ["openai/gpt-4o"]}
    return providers


def test_a_request_with_a_retry_policy_is_corrected_too(
    upstream: UpstreamServer, tmp_path: Path
) -> None:
    providers = mini_falling_back_to_gpt_4o(upstream)
    overrides = {"model_providers": providers, "ratelimits": [rule(MINI, "x-user-id", "*", 120)]}
    upstream.script_model("gpt-4o-mini", *[answer(40, 10) for _ in range(5)])
    with running_gateway(tmp_path, upstream, name="policy", overrides=overrides) as gateway:
        statuses = [chat(gateway, "gus").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_a_fallback_answer_is_counted_on_the_model_that_gave_it(
    upstream: UpstreamServer, tmp_path: Path
) -> None:
    # The mini model fails every time; gpt-4o answers each request with 50 tokens.
    providers = mini_falling_back_to_gpt_4o(upstream)
    ratelimits = [rule(MINI, "x-user-id", "*", 120), rule("openai/gpt-4o", "x-user-id", "*", 150)]
    overrides = {"model_providers": providers, "ratelimits": ratelimits}
    upstream.script_model("gpt-4o-mini", *[ErrorReply(503) for _ in range(4)])
    upstream.script_model("gpt-4o", *[answer(40, 10) for _ in range(4)])
    with running_gateway(tmp_path, upstream, name="fallback", overrides=overrides) as gateway:
        answered = [chat(gateway, "hal") for _ in range(4)]
        direct = chat(gateway, "hal", model="openai/gpt-4o")

    # Counted on mini, the fourth would have been refused (4 x 50 > 120); counted on gpt-4o,
    # its 200 tokens leave no room for a request sent to gpt-4o itself.
    assert [r.status_code for r in answered] == [200] * 4
    assert answered[-1].headers["x-plano-attempts"].endswith("openai/gpt-4o;status=200")
    assert direct.status_code == 429


def test_two_gateways_sharing_redis_share_the_budget(
    upstream: UpstreamServer, tmp_path: Path
) -> None:
    # 100 tokens a minute; every answer reports 10: at most 10 requests, plus one in flight.
    upstream.script_model("gpt-4o-mini", *[answer(8, 2) for _ in range(40)])
    overrides = {"ratelimits": [rule(MINI, "x-user-id", "*", 100)]}
    with running_redis_server(tmp_path) as redis:
        first = running_gateway(
            tmp_path, upstream, name="first", redis_url=redis.url, overrides=overrides
        )
        second = running_gateway(
            tmp_path, upstream, name="second", redis_url=redis.url, overrides=overrides
        )
        with first as one, second as two, ThreadPoolExecutor(4) as pool:
            gateways = [one, two] * 15
            statuses = list(pool.map(lambda g: chat(g, "shared").status_code, gateways))

    assert statuses.count(200) <= 11
    assert statuses.count(200) >= 5
    assert set(statuses) <= {200, 429}


def test_redis_lost_mid_load_fails_no_request(upstream: UpstreamServer, tmp_path: Path) -> None:
    overrides = {"ratelimits": [rule(MINI, "x-user-id", "*", 1_000_000)]}
    with (
        running_redis_server(tmp_path) as redis,
        running_gateway(
            tmp_path, upstream, name="lost", redis_url=redis.url, overrides=overrides
        ) as gateway,
    ):
        before = [chat(gateway, "erin").status_code for _ in range(5)]
        redis.kill()
        after = [chat(gateway, "erin").status_code for _ in range(20)]

    assert before == [200] * 5
    assert after == [200] * 20
