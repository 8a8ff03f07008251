"""Session pinning through the gateway: `X-Model-Affinity` (and its synonym `X-Session-Id`).

On the shared gateway (in-memory store), then on two gateways (each its own Envoy and ext_proc)
sharing one real Redis, including Redis going away and coming back mid-test.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import RedisGateways
from tests.support.gateway import ANTHROPIC_MODEL, Gateway
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

DECIDE = "/routing/v1/chat/completions"
CHAT = "/v1/chat/completions"
CODE = "Write a Python function that implements binary search"
REASONING = "Explain the trade-offs between microservices and monolithic architectures"
FOLLOW_UP = "Now explain merge sort"
NO_MATCH = "What is the capital of France?"
# Bounds the wait for the gateways to use Redis again after its restart (cool-down is ~1 s).
REDIS_RECOVERY_TIMEOUT_SECONDS = 20.0


def session() -> str:
    """A session id no other test (or earlier run against the same gateway) has used."""
    return f"e2e-{uuid.uuid4().hex}"


def chat(text: str) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}


def post(gateway: Gateway, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    response = httpx.post(f"{gateway.base_url}{path}", json=body, headers=headers, timeout=20)
    assert response.status_code == 200, f"{response.text}\n{gateway.log_tails()}"
    return response


def decide(gateway: Gateway, text: str, headers: dict[str, str]) -> dict[str, Any]:
    return dict(post(gateway, DECIDE, chat(text), headers).json())


# The in-memory store, on the shared gateway.


def test_first_decision_pins_and_the_next_one_is_pinned(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    headers = {"X-Model-Affinity": session()}

    first = decide(gateway, CODE, headers)
    second = decide(gateway, FOLLOW_UP, headers)

    assert list(first) == ["models", "route", "trace_id", "session_id", "pinned"]
    assert first["models"] == [ANTHROPIC_MODEL, "openai/gpt-4o"]
    assert first["route"] == "code_generation"
    assert (first["session_id"], first["pinned"]) == (headers["X-Model-Affinity"], False)
    assert second["models"] == [ANTHROPIC_MODEL]
    assert second["route"] == "code_generation"
    assert (second["session_id"], second["pinned"]) == (headers["X-Model-Affinity"], True)
    assert upstream.requests == []


def test_pinned_proxy_call_goes_to_the_pinned_model(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    headers = {"X-Model-Affinity": session()}

    first = post(gateway, CHAT, chat(REASONING), headers)
    # Content that would route to the Anthropic model without the pin.
    second = post(gateway, CHAT, chat(CODE), headers)

    assert first.headers["x-plano-route"] == "complex_reasoning"
    assert first.headers["x-plano-model"] == "openai/gpt-4o"
    assert first.headers["x-plano-pinned"] == "false"
    assert second.headers["x-plano-model"] == "openai/gpt-4o"
    assert second.headers["x-plano-models"] == "openai/gpt-4o"
    assert second.headers["x-plano-pinned"] == "true"
    assert [request.json["model"] for request in upstream.requests] == ["gpt-4o", "gpt-4o"]


def test_proxy_pin_is_seen_by_the_decision_endpoint(gateway: Gateway) -> None:
    headers = {"X-Model-Affinity": session()}

    post(gateway, CHAT, chat(REASONING), headers)
    decision = decide(gateway, CODE, headers)

    assert decision["models"] == ["openai/gpt-4o"]
    assert decision["pinned"] is True


def test_session_id_header_is_a_synonym(gateway: Gateway) -> None:
    session_id = session()

    first = decide(gateway, REASONING, {"X-Session-Id": session_id})
    second = decide(gateway, CODE, {"X-Session-Id": session_id})
    via_affinity = decide(gateway, CODE, {"X-Model-Affinity": session_id})

    assert (first["session_id"], first["pinned"]) == (session_id, False)
    assert second["models"] == ["openai/gpt-4o"]
    assert (second["session_id"], second["pinned"]) == (session_id, True)
    assert via_affinity["models"] == ["openai/gpt-4o"]
    assert via_affinity["pinned"] is True


def test_sessions_are_independent(gateway: Gateway) -> None:
    first_session, second_session = {"X-Model-Affinity": session()}, {"X-Session-Id": session()}

    decide(gateway, CODE, first_session)
    other = decide(gateway, REASONING, second_session)

    assert other["models"] == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    assert other["pinned"] is False


def test_a_no_route_decision_is_not_pinned(gateway: Gateway, upstream: UpstreamServer) -> None:
    headers = {"X-Model-Affinity": session()}

    no_match = decide(gateway, NO_MATCH, headers)
    proxied = post(gateway, CHAT, chat(NO_MATCH), headers)
    routed = decide(gateway, CODE, headers)
    pinned = decide(gateway, NO_MATCH, headers)

    assert (no_match["models"], no_match["route"], no_match["pinned"]) == (["none"], None, False)
    assert proxied.headers["x-plano-pinned"] == "false"
    assert upstream.requests[-1].json["model"] == "gpt-4o-mini"
    # Nothing was pinned by the two no-route calls: the code question routes fresh, and pins.
    assert (routed["route"], routed["pinned"]) == ("code_generation", False)
    assert (pinned["models"], pinned["pinned"]) == ([ANTHROPIC_MODEL], True)


# Two gateways sharing one Redis.


def test_pin_made_on_one_gateway_is_used_by_the_other(
    redis_gateways: RedisGateways, upstream: UpstreamServer
) -> None:
    first, second = redis_gateways.first, redis_gateways.second
    session_id = session()
    headers = {"X-Model-Affinity": session_id}

    routed = post(first, CHAT, chat(REASONING), headers)
    decision = decide(second, CODE, headers)
    proxied = post(second, CHAT, chat(CODE), headers)

    assert first.extproc.pid != second.extproc.pid
    assert routed.headers["x-plano-pinned"] == "false"
    assert decision["models"] == ["openai/gpt-4o"]
    assert decision["pinned"] is True
    assert proxied.headers["x-plano-pinned"] == "true"
    assert proxied.headers["x-plano-model"] == "openai/gpt-4o"
    assert [request.json["model"] for request in upstream.requests] == ["gpt-4o", "gpt-4o"]
    with redis_gateways.redis.client() as client:
        ttl = client.ttl(f"plano:affinity:{session_id}")
    assert 0 < ttl <= 600


def test_no_route_is_not_pinned_in_redis(redis_gateways: RedisGateways) -> None:
    session_id = session()

    decide(redis_gateways.first, NO_MATCH, {"X-Model-Affinity": session_id})

    with redis_gateways.redis.client() as client:
        assert client.keys("plano:affinity:*") == []


def _pins_again(first: Gateway, second: Gateway) -> bool:
    """Pin through `first`, read through `second`: True once both use Redis again."""
    headers = {"X-Model-Affinity": session()}
    decide(first, REASONING, headers)
    return bool(decide(second, CODE, headers)["pinned"])


def test_redis_outage_never_fails_requests_and_pinning_resumes(
    redis_gateways: RedisGateways, upstream: UpstreamServer
) -> None:
    first, second, redis = redis_gateways.first, redis_gateways.second, redis_gateways.redis
    pinned_before = {"X-Model-Affinity": session()}
    decide(first, REASONING, pinned_before)
    assert decide(second, CODE, pinned_before)["pinned"] is True

    redis.kill()
    try:
        during = {"X-Model-Affinity": session()}
        answers = [
            decide(first, CODE, pinned_before),
            decide(second, REASONING, during),
            decide(first, CODE, during),
        ]
        proxied = [
            post(second, CHAT, chat(REASONING), pinned_before),
            post(first, CHAT, chat(REASONING), during),
        ]
        assert [answer["pinned"] for answer in answers] == [False, False, False]
        # Still routed: the outage only costs affinity.
        assert [answer["route"] for answer in answers] == [
            "code_generation",
            "complex_reasoning",
            "code_generation",
        ]
        assert [response.headers["x-plano-pinned"] for response in proxied] == ["false", "false"]
        assert [response.headers["x-plano-model"] for response in proxied] == ["openai/gpt-4o"] * 2
    finally:
        redis.start()

    deadline = time.monotonic() + REDIS_RECOVERY_TIMEOUT_SECONDS
    while not _pins_again(first, second):
        assert time.monotonic() < deadline, (
            f"pinning did not resume within {REDIS_RECOVERY_TIMEOUT_SECONDS}s\n"
            f"{first.log_tails()}\n{second.log_tails()}"
        )
        time.sleep(0.2)
    assert _pins_again(second, first)
