"""Proxy endpoints through Envoy: what the provider receives and what the client sees.

The ext_proc rewrites `model` to the provider's bare id, strips routing fields and the client's
credentials, injects the provider key, picks the provider's cluster and path, and Envoy adds the
`x-plano-*` decision headers to the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from plano_extproc.config import load_config
from plano_extproc.config.upstreams import upstreams_for
from tests.support.gateway import (
    ANTHROPIC_MODEL,
    NATIVE_ANTHROPIC_MODEL,
    TEST_KEYS,
    Gateway,
    gateway_config,
    running_gateway,
)
from tests.support.ports import free_ports
from tests.support.upstream import RecordedRequest, UpstreamServer, running_upstream

pytestmark = pytest.mark.e2e

DEMO_REQUESTS = Path(__file__).parents[2] / "demo" / "requests"
OPENAI_KEY = TEST_KEYS["TEST_OPENAI_KEY"]
ANTHROPIC_KEY = TEST_KEYS["TEST_ANTHROPIC_KEY"]
CLIENT_CREDENTIALS = {"authorization": "Bearer client-secret", "x-api-key": "client-secret"}
CODE = "Write a Python function that implements binary search"
REASONING = "Explain the trade-offs between microservices and monolithic architectures"
SMALL_TALK = "hello there"
TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def post(
    gateway: Gateway, path: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(f"{gateway.base_url}{path}", json=body, headers=headers or {}, timeout=20)


def only_request(upstream: UpstreamServer) -> RecordedRequest:
    requests = upstream.requests
    assert len(requests) == 1, [(r.method, r.path) for r in requests]
    return requests[0]


def assert_no_client_credentials(forwarded: RecordedRequest) -> None:
    assert "client-secret" not in json.dumps(dict(forwarded.headers))


def test_openai_route_gets_the_bare_model_the_key_and_the_decision_headers(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = {"model": "gpt-4o-mini", "messages": user(REASONING), "temperature": 0.25}

    response = post(gateway, "/v1/chat/completions", body, CLIENT_CREDENTIALS)

    assert response.status_code == 200, gateway.log_tails()
    assert response.json()["model"] == "gpt-4o"
    assert response.headers["x-plano-route"] == "complex_reasoning"
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    assert response.headers["x-plano-models"] == "openai/gpt-4o,openai/gpt-4o-mini"
    assert response.headers["x-plano-pinned"] == "false"
    forwarded = only_request(upstream)
    assert (forwarded.method, forwarded.path) == ("POST", "/v1/chat/completions")
    assert forwarded.headers["host"] == f"127.0.0.1:{upstream.port}"
    assert forwarded.json == {"model": "gpt-4o", "messages": user(REASONING), "temperature": 0.25}
    assert forwarded.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in forwarded.headers
    assert "anthropic-version" not in forwarded.headers
    assert int(forwarded.headers["content-length"]) == len(forwarded.body)
    assert_no_client_credentials(forwarded)


def test_anthropic_route_gets_x_api_key_and_anthropic_version(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = {"model": "gpt-4o-mini", "max_tokens": 256, "messages": user(CODE)}
    headers = {**CLIENT_CREDENTIALS, "anthropic-version": "2023-01-01"}

    response = post(gateway, "/v1/messages", body, headers)

    assert response.status_code == 200, gateway.log_tails()
    assert response.json()["model"] == "claude-sonnet-4-20250514"
    assert response.headers["x-plano-route"] == "code_generation"
    assert response.headers["x-plano-model"] == ANTHROPIC_MODEL
    assert response.headers["x-plano-models"] == f"{ANTHROPIC_MODEL},openai/gpt-4o"
    assert response.headers["x-plano-pinned"] == "false"
    forwarded = only_request(upstream)
    assert forwarded.path == "/v1/messages"
    assert forwarded.json == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 256,
        "messages": user(CODE),
    }
    assert forwarded.headers["x-api-key"] == ANTHROPIC_KEY
    assert forwarded.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in forwarded.headers
    assert_no_client_credentials(forwarded)


def test_responses_request_without_a_route_keeps_the_requested_model(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = {"model": "openai/gpt-4o-mini", "input": SMALL_TALK, "instructions": "be brief"}

    response = post(gateway, "/v1/responses", body, CLIENT_CREDENTIALS)

    assert response.status_code == 200, gateway.log_tails()
    assert "x-plano-route" not in response.headers
    assert response.headers["x-plano-model"] == "openai/gpt-4o-mini"
    assert response.headers["x-plano-models"] == "openai/gpt-4o-mini"
    assert response.headers["x-plano-pinned"] == "false"
    forwarded = only_request(upstream)
    assert forwarded.path == "/v1/responses"
    assert forwarded.json == {
        "model": "gpt-4o-mini",
        "input": SMALL_TALK,
        "instructions": "be brief",
    }
    assert forwarded.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert_no_client_credentials(forwarded)


def test_inline_routing_preferences_route_and_are_removed(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = json.loads((DEMO_REQUESTS / "6_inline_routing.chat.json").read_text(encoding="utf-8"))

    response = post(gateway, "/v1/chat/completions", body)

    assert response.status_code == 200, gateway.log_tails()
    assert response.headers["x-plano-route"] == "coding"
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    forwarded = only_request(upstream)
    assert forwarded.json == {"model": "gpt-4o", "messages": body["messages"]}


def test_legacy_routing_policy_is_removed(gateway: Gateway, upstream: UpstreamServer) -> None:
    policy = [
        {
            "model": "openai/gpt-4o",
            "routing_preferences": [
                {"name": "trivia", "description": "geography trivia such as capital cities"}
            ],
        }
    ]
    body = {"model": "gpt-4o-mini", "messages": user(SMALL_TALK), "routing_policy": policy}

    response = post(gateway, "/v1/chat/completions", body)

    assert response.status_code == 200, gateway.log_tails()
    forwarded = only_request(upstream)
    assert set(forwarded.json) == {"model", "messages"}
    assert forwarded.json["model"] in {"gpt-4o", "gpt-4o-mini"}


@pytest.mark.parametrize(
    ("alias", "model", "bare"),
    [
        ("fast-model", "openai/gpt-4o-mini", "gpt-4o-mini"),
        ("reasoning-model", "openai/gpt-4o", "gpt-4o"),
    ],
)
def test_alias_resolves_to_its_target(
    gateway: Gateway, upstream: UpstreamServer, alias: str, model: str, bare: str
) -> None:
    response = post(gateway, "/v1/chat/completions", {"model": alias, "messages": user(SMALL_TALK)})

    assert response.status_code == 200, gateway.log_tails()
    assert response.headers["x-plano-model"] == model
    assert only_request(upstream).json["model"] == bare


def test_request_without_a_model_goes_to_the_default(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    response = post(gateway, "/v1/chat/completions", {"messages": user(SMALL_TALK)})

    assert response.status_code == 200, gateway.log_tails()
    assert response.headers["x-plano-model"] == "openai/gpt-4o-mini"
    assert only_request(upstream).json["model"] == "gpt-4o-mini"


def test_client_traceparent_is_forwarded_and_one_is_added_when_missing(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    body = {"model": "gpt-4o-mini", "messages": user(SMALL_TALK)}

    post(gateway, "/v1/chat/completions", body, {"traceparent": traceparent})
    post(gateway, "/v1/chat/completions", body)

    sent, added = (request.headers.get("traceparent", "") for request in upstream.requests)
    assert sent == traceparent
    assert TRACEPARENT.match(added), added


def test_models_endpoint_lists_providers_then_aliases(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    response = httpx.get(f"{gateway.base_url}/v1/models", timeout=20)

    assert response.status_code == 200, gateway.log_tails()
    listing = response.json()
    assert listing["object"] == "list"
    assert [entry["id"] for entry in listing["data"]] == [
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        ANTHROPIC_MODEL,
        NATIVE_ANTHROPIC_MODEL,
        "fast-model",
        "reasoning-model",
    ]
    assert {entry["object"] for entry in listing["data"]} == {"model"}
    assert upstream.requests == []


def _cluster_of(gateway: Gateway, model: str) -> str:
    config = load_config(gateway.config_path, env=TEST_KEYS)
    return upstreams_for(config)[model].cluster


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/chat/completions", {"model": "nope/x", "messages": user("hi")}, 400),
        ("POST", "/v1/chat/completions", {"messages": "x"}, 400),
        ("POST", "/routing/v1/chat/completions", {"messages": user(CODE)}, 200),
        ("GET", "/v1/chat/completions", None, 405),
        ("GET", "/v1/anything", None, 404),
        ("POST", "/v2/chat/completions", {"messages": user("hi")}, 404),
    ],
)
def test_client_cluster_header_cannot_send_a_request_upstream(
    gateway: Gateway,
    upstream: UpstreamServer,
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    """Envoy routes on x-plano-cluster; a client setting it must not bypass the ext_proc."""
    headers = {"x-plano-cluster": _cluster_of(gateway, "openai/gpt-4o")}

    response = httpx.request(
        method, f"{gateway.base_url}{path}", json=body, headers=headers, timeout=20
    )

    assert response.status_code == status, response.text
    assert upstream.requests == []


def test_client_cluster_header_is_overwritten_on_a_proxied_request(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    headers = {"x-plano-cluster": "bogus_cluster"}

    response = post(
        gateway, "/v1/chat/completions", {"model": "gpt-4o", "messages": user("hi")}, headers
    )

    assert response.status_code == 200, gateway.log_tails()
    assert only_request(upstream).json["model"] == "gpt-4o"


def test_internal_cluster_header_does_not_reach_the_provider(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    response = post(gateway, "/v1/chat/completions", {"model": "gpt-4o", "messages": user("hi")})

    assert response.status_code == 200, gateway.log_tails()
    assert "x-plano-cluster" not in only_request(upstream).headers


def test_internal_translate_header_does_not_reach_the_provider(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    # A chat request that matches no route, for the Anthropic model that translates to the
    # Messages API.
    body = {"model": NATIVE_ANTHROPIC_MODEL, "messages": user("hello there")}
    response = post(gateway, "/v1/chat/completions", body, {"x-plano-translate": "1"})

    assert response.status_code == 200, gateway.log_tails()
    forwarded = only_request(upstream)
    assert forwarded.path == "/v1/messages"
    assert "x-plano-translate" not in forwarded.headers
    assert "x-plano-cluster" not in forwarded.headers


# A gateway with no routes at all: its OpenAI and Anthropic providers on two upstreams, and one
# more provider on a port where nothing listens.

DEAD_MODEL = "openai/gpt-dead"


@dataclass(frozen=True, slots=True)
class SplitGateway:
    gateway: Gateway
    openai: UpstreamServer
    anthropic: UpstreamServer


@pytest.fixture(scope="module")
def split_gateway_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SplitGateway]:
    (dead_port,) = free_ports(1)
    with running_upstream() as anthropic_upstream:
        providers = gateway_config(upstream_server.url, 0)["model_providers"]
        for provider in providers:
            if provider["model"] == ANTHROPIC_MODEL:
                provider["base_url"] = anthropic_upstream.url
        providers.append(
            {
                "model": DEAD_MODEL,
                "access_key": "$TEST_OPENAI_KEY",
                "base_url": f"http://127.0.0.1:{dead_port}",
            }
        )
        overrides = {"routing_preferences": [], "model_providers": providers}
        with running_gateway(
            tmp_path_factory.mktemp("split"), upstream_server, name="split", overrides=overrides
        ) as gateway:
            yield SplitGateway(gateway, upstream_server, anthropic_upstream)


@pytest.fixture
def split(split_gateway_module: SplitGateway, upstream: UpstreamServer) -> SplitGateway:
    split_gateway_module.anthropic.reset()
    return split_gateway_module


def test_without_routes_an_explicit_model_is_used_as_requested(split: SplitGateway) -> None:
    # Content that the seed routes would send to the Anthropic model.
    body = {"model": "openai/gpt-4o", "messages": user(CODE)}

    response = post(split.gateway, "/v1/chat/completions", body)

    assert response.status_code == 200, split.gateway.log_tails()
    assert "x-plano-route" not in response.headers
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    assert only_request(split.openai).json["model"] == "gpt-4o"
    assert split.anthropic.requests == []


def test_without_routes_the_decision_is_none(split: SplitGateway) -> None:
    response = post(split.gateway, "/routing/v1/chat/completions", {"messages": user(CODE)})

    assert response.json()["models"] == ["none"]
    assert response.json()["route"] is None


def test_each_provider_is_reached_on_its_own_upstream(split: SplitGateway) -> None:
    anthropic = post(
        split.gateway,
        "/v1/messages",
        {"model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": user("hi")},
    )
    openai = post(
        split.gateway, "/v1/chat/completions", {"model": "gpt-4o", "messages": user("hi")}
    )

    assert (anthropic.status_code, openai.status_code) == (200, 200), split.gateway.log_tails()
    assert only_request(split.anthropic).headers["x-api-key"] == ANTHROPIC_KEY
    assert only_request(split.openai).headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_client_cluster_header_cannot_redirect_to_another_provider(split: SplitGateway) -> None:
    anthropic_cluster = _cluster_of(split.gateway, ANTHROPIC_MODEL)
    assert anthropic_cluster != _cluster_of(split.gateway, "openai/gpt-4o")

    response = post(
        split.gateway,
        "/v1/chat/completions",
        {"model": "gpt-4o", "messages": user("hi")},
        {"x-plano-cluster": anthropic_cluster, **CLIENT_CREDENTIALS},
    )

    assert response.status_code == 200, split.gateway.log_tails()
    assert split.anthropic.requests == []
    forwarded = only_request(split.openai)
    assert forwarded.headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_unreachable_provider_is_503_provider_unavailable(split: SplitGateway) -> None:
    response = post(
        split.gateway, "/v1/chat/completions", {"model": DEAD_MODEL, "messages": user("hi")}
    )

    assert response.status_code == 503, split.gateway.log_tails()
    error = response.json()["error"]
    assert error["code"] == "ProviderUnavailable"
    assert set(error) == {"code", "message", "details"}
    assert split.openai.requests == []
    assert split.anthropic.requests == []


def test_envoy_internal_headers_do_not_reach_the_provider(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    headers = {"x-envoy-max-retries": "7", "x-envoy-upstream-rq-timeout-ms": "1"}

    response = post(
        gateway, "/v1/chat/completions", {"model": "gpt-4o", "messages": user("hi")}, headers
    )

    assert response.status_code == 200, gateway.log_tails()
    leaked = [name for name in only_request(upstream).headers if name.startswith("x-envoy-")]
    assert leaked == []


def test_client_headers_outside_the_allowlist_never_reach_the_provider(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    leaks = {
        "cookie": "session=secret-cookie",
        "proxy-authorization": "Basic secret-proxy",
        "api-key": "secret-azure-key",
        "x-goog-api-key": "secret-google-key",
        "openai-organization": "org-secret",
        "x-plano-route": "forged",
        "x-model-affinity": "secret-session",
    }
    body = {"model": "openai/gpt-4o", "messages": user(REASONING)}

    response = post(gateway, "/v1/chat/completions", body, {**leaks, "traceparent": "garbage"})

    assert response.status_code == 200, gateway.log_tails()
    forwarded = only_request(upstream)
    assert not set(leaks) & set(forwarded.headers)
    assert "x-forwarded-for" not in forwarded.headers
    assert "secret" not in json.dumps(dict(forwarded.headers))
    assert TRACEPARENT.match(forwarded.headers["traceparent"])
    assert forwarded.headers["content-type"] == "application/json"
