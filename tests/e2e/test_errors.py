"""Bad requests through Envoy: each gets its documented status and the JSON error body
``{"error": {"code", "message", "details": {"reason"}}}``, and none reaches a provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import Gateway, running_gateway
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
HI = [{"role": "user", "content": "hi"}]
SMALL_LIMIT = 64 * 1024


def send(
    gateway: Gateway,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    return httpx.request(
        method,
        f"{gateway.base_url}{path}",
        content=content,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=20,
    )


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error object, after checking the exact documented shape."""
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert set(error["details"]) == {"reason"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return dict(error)


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        (CHAT, b'{"model": "gpt-4o", "messages": [', "malformed_json"),
        ("/routing/v1/messages", b"not json at all", "malformed_json"),
        (RESPONSES, b'{"input": "hi",}', "malformed_json"),
        (CHAT, {"messages": "x"}, "wrong_type"),
        ("/routing/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}, None),
        ("/routing/v1/responses", {"input": 5}, "wrong_type"),
        (MESSAGES, {"model": "claude-sonnet-4-20250514", "messages": HI}, "missing_field"),
        ("/routing/v1/messages", {"messages": HI}, "missing_field"),
        (CHAT, {"model": "gpt-4o"}, "missing_field"),
        (RESPONSES, {"model": "gpt-4o"}, "missing_field"),
        (CHAT, [1, 2, 3], "body_not_object"),
    ],
)
def test_invalid_bodies_are_400_invalid_request(
    gateway: Gateway, upstream: UpstreamServer, path: str, body: Any, reason: str | None
) -> None:
    response = send(gateway, "POST", path, body)

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest"
    if reason is not None:
        assert error["details"]["reason"] == reason
    assert upstream.requests == []


def test_missing_max_tokens_names_the_field(gateway: Gateway) -> None:
    response = send(
        gateway, "POST", MESSAGES, {"model": "claude-sonnet-4-20250514", "messages": HI}
    )

    assert "max_tokens" in error_of(response)["message"]


def test_an_empty_body_is_400(gateway: Gateway, upstream: UpstreamServer) -> None:
    response = send(gateway, "POST", CHAT)

    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "InvalidRequest"
    assert upstream.requests == []


@pytest.mark.parametrize("model", ["nope/x", "gpt-5-ultra", "anthropic/claude-unknown"])
def test_unknown_model_is_400_naming_the_model(
    gateway: Gateway, upstream: UpstreamServer, model: str
) -> None:
    response = send(gateway, "POST", CHAT, {"model": model, "messages": HI})

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest"
    assert error["details"]["reason"] == "unknown_model"
    assert f"'{model}'" in error["message"]
    assert upstream.requests == []


@pytest.mark.parametrize("path", [CHAT, "/routing/v1/chat/completions"])
def test_inline_route_with_an_undeclared_model_is_400(
    gateway: Gateway, upstream: UpstreamServer, path: str
) -> None:
    preferences = [
        {"name": "coding", "description": "writing code", "models": ["openai/gpt-9-secret"]}
    ]
    body = {"model": "gpt-4o", "messages": HI, "routing_preferences": preferences}

    response = send(gateway, "POST", path, body)

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest"
    assert "openai/gpt-9-secret" in error["message"]
    assert upstream.requests == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES, "/routing/v1/messages"])
def test_other_methods_on_post_endpoints_are_405(
    gateway: Gateway, upstream: UpstreamServer, method: str, path: str
) -> None:
    response = send(gateway, method, path)

    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    error = error_of(response)
    assert error["code"] == "MethodNotAllowed"
    assert error["details"]["reason"] == "method_not_allowed"
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/nope"),
        ("POST", "/v2/chat/completions"),
        ("POST", "/routing/v1/completions"),
        ("POST", "/v1/chat/completions/extra"),
    ],
)
def test_unknown_paths_are_404(
    gateway: Gateway, upstream: UpstreamServer, method: str, path: str
) -> None:
    response = send(gateway, method, path, {"messages": HI} if method == "POST" else None)

    assert response.status_code == 404, response.text
    error = error_of(response)
    assert error["code"] == "NotFound"
    assert upstream.requests == []


# Envoy's body limit, on a gateway with a small one so that the bodies stay small.


@pytest.fixture(scope="module")
def small_limit_gateway_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp("small-limit"),
        upstream_server,
        name="small-limit",
        max_request_bytes=SMALL_LIMIT,
    ) as gateway:
        yield gateway


@pytest.fixture
def small_limit_gateway(small_limit_gateway_module: Gateway, upstream: UpstreamServer) -> Gateway:
    return small_limit_gateway_module


def _body_of_size(size: int) -> bytes:
    """A valid chat request of exactly `size` bytes (small talk, so it routes nowhere)."""
    head, tail = b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "', b'"}]}'
    body = head + b"x" * (size - len(head) - len(tail)) + tail
    assert len(body) == size
    return body


@pytest.mark.parametrize("path", [CHAT, "/routing/v1/chat/completions"])
def test_body_over_the_envoy_limit_is_413(
    small_limit_gateway: Gateway, upstream: UpstreamServer, path: str
) -> None:
    response = send(small_limit_gateway, "POST", path, _body_of_size(SMALL_LIMIT + 1))

    assert response.status_code == 413, response.text
    error = error_of(response)
    assert error["code"] == "InvalidRequest"
    assert error["details"]["reason"] == "body_too_large"
    assert upstream.requests == []


def test_body_at_the_envoy_limit_is_served(
    small_limit_gateway: Gateway, upstream: UpstreamServer
) -> None:
    response = send(small_limit_gateway, "POST", CHAT, _body_of_size(SMALL_LIMIT))

    assert response.status_code == 200, small_limit_gateway.log_tails()
    (forwarded,) = upstream.requests
    assert forwarded.json["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_on_the_models_endpoint_are_405(
    gateway: Gateway, upstream: UpstreamServer, method: str
) -> None:
    response = send(gateway, method, "/v1/models", {"messages": HI} if method == "POST" else None)

    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, HEAD"
    assert error_of(response)["details"]["reason"] == "method_not_allowed"
    assert upstream.requests == []


def test_head_on_the_models_endpoint_has_no_body(gateway: Gateway) -> None:
    response = httpx.head(f"{gateway.base_url}/v1/models", timeout=20)

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"
