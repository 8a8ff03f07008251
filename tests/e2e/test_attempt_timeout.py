"""`on_timeout.attempt_timeout_seconds` through real Envoy: a provider slower than its policy's
attempt timeout, yet quicker than the listener timeout, is given up for the fallback model.

Had the attempt waited the listener timeout instead, the slow provider would have answered; so
which model answers shows that the attempt timeout ended the first attempt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.gateway import Gateway, providers_only, running_gateway
from tests.support.upstream import DefaultReply, StreamReply, UpstreamServer, running_upstream

pytestmark = pytest.mark.e2e

SLOW = "openai/at-slow"
BACKUP = "anthropic/at-backup"
ATTEMPT_TIMEOUT_S = 1.0
LISTENER_TIMEOUT_S = 10.0
# Past the attempt timeout, well within the listener's.
SLOW_DELAY_S = 5.0
ANSWER = "".join(StreamReply().pieces)
PROVIDERS = [
    {
        "model": SLOW,
        "access_key": "$TEST_OPENAI_KEY",
        "retry_policy": {
            "fallback_models": [BACKUP],
            "on_timeout": {
                "strategy": "different_provider",
                "max_attempts": 1,
                "attempt_timeout_seconds": ATTEMPT_TIMEOUT_S,
            },
        },
    },
    {"model": BACKUP, "access_key": "$TEST_ANTHROPIC_KEY"},
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
        tmp_path_factory.mktemp("attempt_timeout"),
        upstream_module,
        listener_timeout=f"{LISTENER_TIMEOUT_S:.0f}s",
        overrides=providers_only(upstream_module, PROVIDERS),
    ) as gw:
        yield gw


@pytest.fixture
def upstream(upstream_module: UpstreamServer) -> UpstreamServer:
    upstream_module.reset()
    upstream_module.script_model("at-slow", DefaultReply(delay_s=SLOW_DELAY_S))
    return upstream_module


def _models(upstream: UpstreamServer) -> list[str]:
    return [r.json["model"] for r in upstream.requests]


def test_a_slow_attempt_ends_at_the_attempt_timeout_and_the_fallback_answers(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = {"model": SLOW, "messages": [{"role": "user", "content": "hello"}]}
    started = time.monotonic()

    response = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30)

    assert response.status_code == 200, response.text
    assert response.headers["x-plano-model"] == BACKUP
    assert response.headers["x-plano-attempts"] == (f"{SLOW};status=504, {BACKUP};status=200")
    assert _models(upstream) == ["at-slow", "at-backup"]
    # Generous: the slow provider alone would have taken SLOW_DELAY_S.
    assert time.monotonic() - started < LISTENER_TIMEOUT_S


def test_a_stream_fails_over_at_the_attempt_timeout_before_its_first_byte(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    client = openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key="client-secret", max_retries=0, timeout=30
    )

    stream = client.chat.completions.create(
        model=SLOW, messages=[{"role": "user", "content": "hello"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text == ANSWER
    assert _models(upstream) == ["at-slow", "at-backup"]
