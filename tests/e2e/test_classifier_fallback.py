"""The `openai` classifier backend (Arch-Router behind an OpenAI-compatible server) through the
gateway, with the test upstream standing in for the router model.

Every request here makes two calls to the upstream's /v1/chat/completions: the classifier's
first, then (for proxied requests) the provider's. A scripted reply is used by the first call
that arrives, so it is the classifier's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory
from tests.support.gateway import Gateway, running_gateway
from tests.support.upstream import (
    DefaultReply,
    ErrorReply,
    JsonReply,
    RecordedRequest,
    UpstreamServer,
)

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
CLASSIFIER_TIMEOUT_MS = 500
# Far beyond the classifier's deadline; the upstream drops it when the classifier gives up.
STALLED_CLASSIFIER = DefaultReply(delay_s=10)
CODE = "Write a Python function that implements binary search"


def _router_routing(upstream: UpstreamServer) -> dict[str, Any]:
    return {
        "session_ttl_seconds": 600,
        "classifier": {
            "type": "openai",
            "timeout_ms": CLASSIFIER_TIMEOUT_MS,
            "openai": {"base_url": upstream.url, "model": "Arch-Router"},
        },
    }


def _router_gateway(
    upstream: UpstreamServer, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp(name),
        upstream,
        name=name,
        overrides={"routing": _router_routing(upstream)},
    ) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def router_gateway_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    yield from _router_gateway(upstream_server, tmp_path_factory, "router")


@pytest.fixture
def router_gateway(router_gateway_module: Gateway, upstream: UpstreamServer) -> Gateway:
    return router_gateway_module


@pytest.fixture(scope="module")
def stalled_gateway_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """Its own gateway: the stalls below open the classifier's circuit breaker (three misses)."""
    yield from _router_gateway(upstream_server, tmp_path_factory, "stalled")


@pytest.fixture
def stalled_gateway(stalled_gateway_module: Gateway, upstream: UpstreamServer) -> Gateway:
    return stalled_gateway_module


def router_answer(content: str) -> JsonReply:
    completion = {
        "id": "chatcmpl-router",
        "object": "chat.completion",
        "created": 0,
        "model": "Arch-Router",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    return JsonReply(200, completion)


def post(gateway: Gateway, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{gateway.base_url}{path}", json=body, timeout=30)


def chat(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **fields}


def split_calls(upstream: UpstreamServer) -> tuple[RecordedRequest, list[RecordedRequest]]:
    """(the classifier's call, the provider calls after it)."""
    classifier, *provider_calls = upstream.requests_to(CHAT)
    return classifier, provider_calls


def test_classifier_timeout_degrades_the_proxy_to_the_default_model(
    stalled_gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, STALLED_CLASSIFIER)

    response = post(stalled_gateway, CHAT, chat(CODE))

    assert response.status_code == 200, stalled_gateway.log_tails()
    assert response.headers["x-plano-route-fallback"] == "timeout"
    assert response.headers["x-plano-model"] == "openai/gpt-4o-mini"
    assert "x-plano-route" not in response.headers
    assert response.json()["model"] == "gpt-4o-mini"
    classifier, (forwarded,) = split_calls(upstream)
    assert classifier.json["model"] == "Arch-Router"
    assert forwarded.json["model"] == "gpt-4o-mini"


def test_classifier_timeout_keeps_an_explicit_model(
    stalled_gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, STALLED_CLASSIFIER)

    response = post(stalled_gateway, CHAT, chat(CODE, model="reasoning-model"))

    assert response.status_code == 200, stalled_gateway.log_tails()
    assert response.headers["x-plano-route-fallback"] == "timeout"
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    _, (forwarded,) = split_calls(upstream)
    assert forwarded.json["model"] == "gpt-4o"


def test_classifier_timeout_answers_no_route_on_the_decision_endpoint(
    stalled_gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, STALLED_CLASSIFIER)

    response = post(stalled_gateway, "/routing/v1/chat/completions", chat(CODE))

    assert response.status_code == 200, stalled_gateway.log_tails()
    assert response.json()["models"] == ["none"]
    assert response.json()["route"] is None
    assert response.headers["x-plano-route-fallback"] == "timeout"
    classifier, provider_calls = split_calls(upstream)
    assert classifier.json["model"] == "Arch-Router"
    assert provider_calls == []


def test_classifier_error_degrades_with_fallback_error(
    router_gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, ErrorReply(500, "router crashed"))

    response = post(router_gateway, CHAT, chat(CODE))

    assert response.status_code == 200, router_gateway.log_tails()
    assert response.headers["x-plano-route-fallback"] == "error"
    assert response.headers["x-plano-model"] == "openai/gpt-4o-mini"


def test_router_answer_routes_the_request(
    router_gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, router_answer('{"route": "complex_reasoning"}'))

    response = post(router_gateway, CHAT, chat("hello there", model="gpt-4o-mini"))

    assert response.status_code == 200, router_gateway.log_tails()
    assert "x-plano-route-fallback" not in response.headers
    assert response.headers["x-plano-route"] == "complex_reasoning"
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    classifier, (forwarded,) = split_calls(upstream)
    assert forwarded.json["model"] == "gpt-4o"
    # The Arch-Router contract: one user message with the prompt, temperature 0.01.
    assert classifier.json["temperature"] == 0.01
    (message,) = classifier.json["messages"]
    assert message["role"] == "user"
    routes = json.dumps(
        [
            {
                "name": "code_generation",
                "description": "generating new code snippets, writing functions, "
                "or creating boilerplate",
            },
            {
                "name": "complex_reasoning",
                "description": "complex reasoning tasks, multi-step analysis, "
                "or detailed explanations",
            },
        ],
        separators=(",", ":"),
    )
    assert f"<routes>\n{routes}\n</routes>" in message["content"]
    assert '[{"role":"user","content":"hello there"}]' in message["content"]
    # The router call carries no client or provider credentials.
    assert "authorization" not in classifier.headers


def test_router_answering_other_means_no_route(
    router_gateway: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, router_answer('{"route": "other"}'))

    response = post(router_gateway, "/routing/v1/chat/completions", chat(CODE))

    assert response.status_code == 200, router_gateway.log_tails()
    assert response.json()["models"] == ["none"]
    assert "x-plano-route-fallback" not in response.headers


def test_a_router_that_keeps_missing_its_deadline_is_skipped(
    make_gateway: GatewayFactory, upstream: UpstreamServer
) -> None:
    gateway = make_gateway(name="breaker", overrides={"routing": _router_routing(upstream)})
    upstream.script(CHAT, *([STALLED_CLASSIFIER] * 3))
    for _ in range(3):
        stalled = post(gateway, "/routing/v1/chat/completions", chat(CODE))
        assert stalled.headers["x-plano-route-fallback"] == "timeout"

    skipped = post(gateway, "/routing/v1/chat/completions", chat(CODE))

    # Skipped at once: an error fallback, without a call to the router.
    assert skipped.headers["x-plano-route-fallback"] == "error"
    assert len(upstream.requests_to(CHAT)) == 3
