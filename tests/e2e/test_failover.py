"""Failover (`retry_policy`) through real Envoy: mock providers that record every attempt, and
the official SDKs as clients.

Each behaviour has its own provider entry (all on the one test upstream, told apart by model),
so that blocks and pins from one test never reach another.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.support.gateway import TEST_KEYS, Gateway, providers_only, running_gateway
from tests.support.redis_server import running_redis_server
from tests.support.upstream import (
    DefaultReply,
    ErrorReply,
    StreamReply,
    UpstreamServer,
    running_upstream,
)

pytestmark = pytest.mark.e2e

BACKUP = "anthropic/fo-backup"
THIRD = "openai/fo-third"
ANSWER = "".join(StreamReply().pieces)
LISTENER_TIMEOUT_S = 2.0
CODE = "Write a Python function that implements binary search over a sorted list"


def _provider(model: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    key = "$TEST_ANTHROPIC_KEY" if model.startswith("anthropic/") else "$TEST_OPENAI_KEY"
    entry: dict[str, Any] = {"model": model, "access_key": key}
    if policy is not None:
        entry["retry_policy"] = policy
    return entry


PROVIDERS = [
    _provider(
        "openai/fo-primary",
        {
            "fallback_models": [BACKUP, THIRD],
            "default_strategy": "different_provider",
            "default_max_attempts": 2,
            "on_status_codes": [
                {"codes": [429, 503], "strategy": "different_provider", "max_attempts": 2}
            ],
        },
    ),
    _provider("openai/fo-limited", {"fallback_models": [BACKUP], "default_max_attempts": 1}),
    _provider(
        "openai/fo-same",
        {
            "default_strategy": "same_model",
            "default_max_attempts": 2,
            "backoff": {"apply_to": "same_model", "base_ms": 200, "max_ms": 1000},
        },
    ),
    _provider(
        "openai/fo-wait",
        {
            "default_strategy": "same_model",
            "default_max_attempts": 1,
            "backoff": {"base_ms": 10, "max_ms": 10},
            "retry_after_handling": {"apply_to": "request", "max_retry_after_seconds": 30},
        },
    ),
    _provider(
        "openai/fo-global",
        {
            "fallback_models": [BACKUP],
            "retry_after_handling": {"scope": "model", "apply_to": "global"},
        },
    ),
    _provider(
        "openai/fo-timeout",
        {"fallback_models": [BACKUP], "on_timeout": {"strategy": "different_provider"}},
    ),
    _provider(
        "openai/fo-slow",
        {
            "fallback_models": [BACKUP],
            "on_high_latency": {
                "threshold_ms": 500,
                "min_triggers": 1,
                "block_duration_seconds": 60,
                "apply_to": "global",
            },
        },
    ),
    _provider("openai/fo-routed", {"default_strategy": "different_provider"}),
    {**_provider("openai/fo-headers", {"fallback_models": [BACKUP]}), "headers": {"x-org": "o-1"}},
    _provider("openai/fo-plain"),
    _provider(BACKUP),
    _provider(THIRD),
]
ROUTES = [
    {
        "name": "code_generation",
        "description": "writing new code, functions or programs",
        "models": ["openai/fo-routed", BACKUP],
        "examples": ["Write a Python function that sorts a list", "Implement binary search"],
    }
]


@pytest.fixture(scope="module")
def upstream_module() -> Iterator[UpstreamServer]:
    with running_upstream() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    upstream_module: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp("failover"),
        upstream_module,
        listener_timeout=f"{LISTENER_TIMEOUT_S:.0f}s",
        overrides=providers_only(upstream_module, PROVIDERS, ROUTES),
    ) as gw:
        yield gw


@pytest.fixture
def upstream(upstream_module: UpstreamServer) -> UpstreamServer:
    upstream_module.reset()
    return upstream_module


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key="client-secret", max_retries=0, timeout=20
    )


def _chat(gateway: Gateway, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], **extra}
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=20)


def _models(upstream: UpstreamServer) -> list[str]:
    return [r.json["model"] for r in upstream.requests]


def test_a_rate_limit_fails_over_to_the_fallback_model(
    client: openai.OpenAI, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-primary", ErrorReply(429))

    raw = client.chat.completions.with_raw_response.create(
        model="openai/fo-primary",
        messages=[{"role": "user", "content": "hello"}],
        temperature=0.3,
        max_tokens=55,
    )

    answer = raw.parse()
    assert answer.choices[0].message.content == ANSWER
    assert _models(upstream) == ["fo-primary", "fo-backup"]
    assert raw.headers["x-plano-model"] == BACKUP
    assert raw.headers["x-plano-attempts"] == (
        "openai/fo-primary;status=429, anthropic/fo-backup;status=200"
    )
    assert "x-plano-retry" not in raw.headers
    first, second = upstream.requests
    # The body is the client's on every attempt; only the model and the credentials change.
    for forwarded in (first, second):
        assert forwarded.json["temperature"] == 0.3
        assert forwarded.json["max_tokens"] == 55
        assert forwarded.json["messages"] == [{"role": "user", "content": "hello"}]
        assert "client-secret" not in str(dict(forwarded.headers))
        assert not any(name.startswith("x-plano") for name in forwarded.headers)
    assert first.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_OPENAI_KEY']}"
    assert second.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_ANTHROPIC_KEY']}"


def test_a_server_error_fails_over_too(gateway: Gateway, upstream: UpstreamServer) -> None:
    upstream.script_model("fo-primary", ErrorReply(503))

    response = _chat(gateway, "openai/fo-primary")

    assert response.status_code == 200
    assert _models(upstream) == ["fo-primary", "fo-backup"]


def test_every_attempt_failing_is_retry_exhausted_with_each_attempt(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-primary", ErrorReply(429))
    upstream.script_model("fo-backup", ErrorReply(503))
    upstream.script_model("fo-third", ErrorReply(429))

    response = _chat(gateway, "openai/fo-primary")

    assert response.status_code == 429
    error = response.json()["error"]
    assert error["type"] == "retry_exhausted"
    assert error["total_attempts"] == 3
    assert error["attempts"] == [
        {"model": "openai/fo-primary", "status": 429},
        {"model": BACKUP, "status": 503},
        {"model": THIRD, "status": 429},
    ]
    assert _models(upstream) == ["fo-primary", "fo-backup", "fo-third"]


def test_max_attempts_counts_retries_after_the_first(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-limited", ErrorReply(503))
    upstream.script_model("fo-backup", ErrorReply(503))

    response = _chat(gateway, "openai/fo-limited")

    assert response.status_code == 503
    assert response.json()["error"]["total_attempts"] == 2
    assert _models(upstream) == ["fo-limited", "fo-backup"]


def test_without_a_policy_one_request_and_the_providers_error(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-plain", ErrorReply(429, message="slow down"))

    response = _chat(gateway, "openai/fo-plain")

    assert response.status_code == 429
    assert response.json()["error"]["message"] == "slow down"
    assert _models(upstream) == ["fo-plain"]


def test_a_client_error_is_not_retried(gateway: Gateway, upstream: UpstreamServer) -> None:
    upstream.script_model("fo-primary", ErrorReply(400, message="bad temperature"))

    response = _chat(gateway, "openai/fo-primary")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "bad temperature"
    assert _models(upstream) == ["fo-primary"]


def test_same_model_retries_after_an_exponential_backoff(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-same", ErrorReply(503), ErrorReply(503))

    started = time.monotonic()
    response = _chat(gateway, "openai/fo-same")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert _models(upstream) == ["fo-same"] * 3
    # 200 ms, then 400 ms.
    assert elapsed >= 0.6


def test_retry_after_for_the_request_is_waited_out(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-wait", ErrorReply(429, headers={"retry-after": "1"}))

    started = time.monotonic()
    response = _chat(gateway, "openai/fo-wait")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert _models(upstream) == ["fo-wait", "fo-wait"]
    assert elapsed >= 1.0


def test_a_global_retry_after_blocks_the_model_for_new_requests(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-global", ErrorReply(429, headers={"retry-after": "2"}))

    assert _chat(gateway, "openai/fo-global").status_code == 200
    assert _models(upstream) == ["fo-global", "fo-backup"]

    second = _chat(gateway, "openai/fo-global")

    assert second.status_code == 200
    assert second.headers["x-plano-attempts"] == "anthropic/fo-backup;status=200"
    assert _models(upstream) == ["fo-global", "fo-backup", "fo-backup"]

    time.sleep(2.2)
    assert _chat(gateway, "openai/fo-global").status_code == 200
    assert _models(upstream)[-1] == "fo-global"


def test_an_attempt_past_the_listener_timeout_fails_over(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-timeout", DefaultReply(delay_s=LISTENER_TIMEOUT_S + 1))

    response = _chat(gateway, "openai/fo-timeout")

    assert response.status_code == 200, response.text
    assert response.headers["x-plano-attempts"] == (
        "openai/fo-timeout;status=504, anthropic/fo-backup;status=200"
    )


def test_slow_answers_are_delivered_then_the_model_is_skipped(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-slow", DefaultReply(delay_s=0.7))

    first = _chat(gateway, "openai/fo-slow")
    second = _chat(gateway, "openai/fo-slow")

    assert first.status_code == 200
    assert first.headers["x-plano-model"] == "openai/fo-slow"
    assert second.status_code == 200
    assert second.headers["x-plano-model"] == BACKUP
    assert _models(upstream) == ["fo-slow", "fo-backup"]


def test_a_stream_fails_over_before_its_first_byte(
    client: openai.OpenAI, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-primary", ErrorReply(429))

    stream = client.chat.completions.create(
        model="openai/fo-primary",
        messages=[{"role": "user", "content": "hello"}],
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == ANSWER
    assert _models(upstream) == ["fo-primary", "fo-backup"]


def test_an_anthropic_client_fails_over_with_its_own_api(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-primary", ErrorReply(503))
    client = anthropic.Anthropic(base_url=gateway.base_url, api_key="unused", max_retries=0)

    message = client.messages.create(
        model="openai/fo-primary", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )

    assert message.content[0].text == ANSWER
    assert _models(upstream) == ["fo-primary", "fo-backup"]


def test_a_routed_request_fails_over_along_its_ranked_models_and_re_pins(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-routed", ErrorReply(429))
    session = {"x-session-id": "failover-session"}
    body = {"model": "openai/fo-plain", "messages": [{"role": "user", "content": CODE}]}
    url = f"{gateway.base_url}/v1/chat/completions"

    first = httpx.post(url, json=body, headers=session, timeout=20)

    assert first.status_code == 200
    assert first.headers["x-plano-route"] == "code_generation"
    assert first.headers["x-plano-model"] == BACKUP
    assert _models(upstream) == ["fo-routed", "fo-backup"]

    second = httpx.post(url, json=body, headers=session, timeout=20)

    assert second.headers["x-plano-pinned"] == "true"
    assert second.headers["x-plano-model"] == BACKUP
    assert _models(upstream)[-1] == "fo-backup"


def test_timeouts_on_every_attempt_are_retry_exhausted(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    slow = DefaultReply(delay_s=LISTENER_TIMEOUT_S + 1)
    upstream.script_model("fo-timeout", slow)
    upstream.script_model("fo-backup", slow)

    response = _chat(gateway, "openai/fo-timeout")

    assert response.status_code == 504, response.text
    error = response.json()["error"]
    assert error["type"] == "retry_exhausted"
    assert [a.get("timeout") for a in error["attempts"]] == [True, True]


def test_a_responses_client_fails_over_into_another_api(
    client: openai.OpenAI, upstream: UpstreamServer
) -> None:
    # fo-primary speaks Responses natively; the Anthropic fallback gets Chat Completions.
    upstream.script_model("fo-primary", ErrorReply(503))

    answer = client.responses.create(model="openai/fo-primary", input="hello")

    assert answer.output_text == ANSWER
    assert [(r.path, r.json["model"]) for r in upstream.requests] == [
        ("/v1/responses", "fo-primary"),
        ("/v1/chat/completions", "fo-backup"),
    ]


def test_the_access_log_lists_every_attempt(gateway: Gateway, upstream: UpstreamServer) -> None:
    upstream.script_model("fo-primary", ErrorReply(429))
    request_id = "failover-access-log"

    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "openai/fo-primary", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-request-id": request_id},
        timeout=20,
    )

    assert response.status_code == 200
    envoy_log = gateway.log_paths[1]
    # Envoy flushes its access log every few seconds.
    deadline = time.monotonic() + 20
    entries: list[dict[str, Any]] = []
    while not entries and time.monotonic() < deadline:
        entries = [
            json.loads(line)
            for line in envoy_log.read_text().splitlines()
            if request_id in line and line.startswith("{")
        ]
        time.sleep(0.2)
    assert entries, gateway.log_tails()
    assert entries[-1]["attempts"] == [
        {"model": "openai/fo-primary", "status": 429},
        {"model": BACKUP, "status": 200},
    ]
    assert entries[-1]["model"] == BACKUP


@pytest.fixture(scope="module")
def redis_pair(
    upstream_module: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Gateway]]:
    workdir = tmp_path_factory.mktemp("failover-redis")
    providers = [{**p, "base_url": upstream_module.url} for p in PROVIDERS]
    overrides = {"model_providers": providers, "model_aliases": {}, "routing_preferences": []}
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis_server(workdir))
        first, second = (
            stack.enter_context(
                running_gateway(
                    workdir, upstream_module, name=name, redis_url=redis.url, overrides=overrides
                )
            )
            for name in ("first", "second")
        )
        yield first, second


def test_blocks_are_shared_by_replicas_through_redis(
    redis_pair: tuple[Gateway, Gateway], upstream: UpstreamServer
) -> None:
    first, second = redis_pair
    upstream.script_model("fo-global", ErrorReply(429, headers={"retry-after": "30"}))

    assert _chat(first, "openai/fo-global").status_code == 200
    response = _chat(second, "openai/fo-global")

    assert response.status_code == 200
    assert response.headers["x-plano-model"] == BACKUP
    assert _models(upstream) == ["fo-global", "fo-backup", "fo-backup"]


def test_an_anthropic_stream_fails_over_and_is_translated(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-primary", ErrorReply(429))
    client = anthropic.Anthropic(base_url=gateway.base_url, api_key="unused", max_retries=0)

    with client.messages.stream(
        model="openai/fo-primary", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)

    assert text == ANSWER
    assert _models(upstream) == ["fo-primary", "fo-backup"]


def _attempt_streams(gateway: Gateway) -> int:
    """How many streams the attempt filter has opened (Envoy's ext_proc stats)."""
    stats = httpx.get(f"{gateway.admin_url}/stats?filter=plano_attempt.*streams_started").text
    return sum(int(line.rsplit(":", 1)[1]) for line in stats.splitlines() if line.strip())


def test_a_first_attempt_that_answers_never_reaches_the_attempt_filter(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    before = _attempt_streams(gateway)

    response = _chat(gateway, "openai/fo-primary")

    assert response.status_code == 200
    assert response.headers["x-plano-attempts"] == "openai/fo-primary;status=200"
    assert response.headers["x-plano-model"] == "openai/fo-primary"
    assert _attempt_streams(gateway) == before
    (forwarded,) = upstream.requests
    assert not any(name.startswith(("x-envoy", "x-plano")) for name in forwarded.headers)


def test_the_retry_of_a_first_attempt_envoy_judged_drops_the_first_providers_headers(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script_model("fo-headers", ErrorReply(429))
    before = _attempt_streams(gateway)

    response = _chat(gateway, "openai/fo-headers")

    assert response.status_code == 200
    assert _attempt_streams(gateway) == before + 1
    first, second = upstream.requests
    assert first.headers["x-org"] == "o-1"
    assert first.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_OPENAI_KEY']}"
    assert "x-org" not in second.headers
    assert second.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_ANTHROPIC_KEY']}"
    assert not any(name.startswith(("x-envoy", "x-plano")) for name in second.headers)


def test_a_providers_own_no_retry_mark_does_not_stop_the_failover(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    # Envoy never retries an answer carrying x-envoy-ratelimited; the attempts listener strips
    # a provider's, so only the attempt filter's "no retry" counts.
    limited = ErrorReply(429, headers={"x-envoy-ratelimited": "true"})
    upstream.script_model("fo-limited", limited)
    upstream.script_model("fo-backup", limited)

    response = _chat(gateway, "openai/fo-limited")

    assert response.status_code == 429
    assert response.json()["error"]["type"] == "retry_exhausted"
    assert "x-envoy-ratelimited" not in response.headers
    assert _models(upstream) == ["fo-limited", "fo-backup"]
