"""The proxy under provider trouble and unusual clients: retries, error pass-through, chunked
uploads, HTTP/2, and many concurrent requests that must not mix up their decisions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.gateway import TEST_KEYS, Gateway, running_gateway
from tests.support.upstream import (
    DefaultReply,
    ErrorReply,
    JsonReply,
    UpstreamServer,
    failures,
)

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
OPENAI_KEY = TEST_KEYS["TEST_OPENAI_KEY"]
RETRIES = 2  # the retrying gateway's listener max_retries
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def retrying_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with running_gateway(
        tmp_path_factory.mktemp("retrying"), upstream_server, max_retries=RETRIES
    ) as gateway:
        yield gateway


@pytest.fixture
def retrying(retrying_module: Gateway, upstream: UpstreamServer) -> Gateway:
    """A gateway whose listener sets Plano's `max_retries`."""
    return retrying_module


def post(gateway: Gateway, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{gateway.base_url}{CHAT}", json=body, headers=headers or {}, timeout=30)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_without_max_retries_one_request_is_made(
    gateway: Gateway, upstream: UpstreamServer, status: int
) -> None:
    upstream.script(CHAT, ErrorReply(status, "busy"))

    response = post(gateway, {"model": "gpt-4o", "messages": HI})

    assert response.status_code == status
    assert len(upstream.requests_to(CHAT)) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retriable_provider_errors_are_retried_with_the_rewritten_request(
    retrying: Gateway, upstream: UpstreamServer, status: int
) -> None:
    upstream.script(CHAT, *failures(RETRIES, status), DefaultReply())

    response = post(retrying, {"model": "reasoning-model", "messages": HI})

    assert response.status_code == 200, retrying.log_tails()
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    attempts = upstream.requests_to(CHAT)
    assert len(attempts) == RETRIES + 1
    assert {attempt.body for attempt in attempts} == {attempts[0].body}
    assert attempts[0].json == {"model": "gpt-4o", "messages": HI}
    assert {attempt.headers["authorization"] for attempt in attempts} == {f"Bearer {OPENAI_KEY}"}


def test_provider_error_after_the_last_retry_reaches_the_client(
    retrying: Gateway, upstream: UpstreamServer
) -> None:
    upstream.script(CHAT, *failures(RETRIES + 1, 503))

    response = post(retrying, {"model": "gpt-4o", "messages": HI})

    assert response.status_code == 503
    assert response.json()["error"]["message"] == "scripted upstream failure"
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    assert len(upstream.requests_to(CHAT)) == RETRIES + 1


def test_client_errors_from_the_provider_pass_through_unretried(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = {"error": {"message": "bad param", "type": "invalid_request_error", "code": "x"}}
    upstream.script(CHAT, JsonReply(400, body, headers={"x-request-id": "provider-id"}))

    response = post(gateway, {"model": "gpt-4o", "messages": HI})

    assert response.status_code == 400
    assert response.json() == body
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    assert len(upstream.requests_to(CHAT)) == 1


def test_anthropic_errors_pass_through(gateway: Gateway, upstream: UpstreamServer) -> None:
    upstream.script("/v1/messages", ErrorReply(529, "overloaded"))

    response = httpx.post(
        f"{gateway.base_url}/v1/messages",
        json={"model": "claude-sonnet-4-20250514", "max_tokens": 8, "messages": HI},
        timeout=30,
    )

    assert response.status_code == 529
    assert response.json() == {
        "type": "error",
        "error": {"type": "api_error", "message": "overloaded"},
    }


def test_chunked_request_body_is_forwarded_with_a_content_length(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "fast-model", "messa'
        yield b'ges": [{"role": "user", "content": "hi"}]}'

    response = httpx.post(f"{gateway.base_url}{CHAT}", content=chunks(), timeout=30)

    assert response.status_code == 200, gateway.log_tails()
    (forwarded,) = upstream.requests
    assert forwarded.json == {"model": "gpt-4o-mini", "messages": HI}
    assert "transfer-encoding" not in forwarded.headers
    assert int(forwarded.headers["content-length"]) == len(forwarded.body)


def test_http2_client(gateway: Gateway, upstream: UpstreamServer) -> None:
    with httpx.Client(http1=False, http2=True, timeout=30) as client:
        proxied = client.post(f"{gateway.base_url}{CHAT}", json={"model": "gpt-4o", "messages": HI})
        decision = client.post(
            f"{gateway.base_url}/routing/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "What is the capital of France?"}]},
        )

    assert proxied.http_version == "HTTP/2"
    assert proxied.status_code == 200, gateway.log_tails()
    assert proxied.json()["model"] == "gpt-4o"
    assert decision.json()["models"] == ["none"]
    assert len(upstream.requests) == 1


def test_keep_alive_connection_serves_mixed_requests(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    """Decisions, errors and proxied calls in turn over one client connection."""
    with httpx.Client(base_url=gateway.base_url, timeout=30) as client:
        statuses = []
        for _ in range(3):
            statuses.append(client.post(CHAT, json={"model": "gpt-4o", "messages": HI}).status_code)
            statuses.append(client.post(CHAT, content=b"{oops").status_code)
            statuses.append(
                client.post("/routing/v1/chat/completions", json={"messages": HI}).status_code
            )
            statuses.append(client.get("/v1/models").status_code)

    assert statuses == [200, 400, 200, 200] * 3
    assert [request.json["model"] for request in upstream.requests] == ["gpt-4o"] * 3


CONCURRENT_CASES = [
    ("fast-model", "hello there", "openai/gpt-4o-mini"),
    ("reasoning-model", "hello there", "openai/gpt-4o"),
    (
        "gpt-4o-mini",
        "Explain the trade-offs between microservices and monolithic architectures",
        "openai/gpt-4o",
    ),
    ("openai/gpt-4o-mini", "What is the capital of France?", "openai/gpt-4o-mini"),
]


async def test_concurrent_requests_keep_their_own_decisions(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    """Each request is tagged; every tag must reach the upstream with its own model."""
    rounds = 10

    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=60) as client:

        async def one(index: int) -> tuple[int, httpx.Response]:
            model, text, _ = CONCURRENT_CASES[index % len(CONCURRENT_CASES)]
            body = {"model": model, "messages": [{"role": "user", "content": text}]}
            body["metadata"] = {"tag": str(index)}
            return index, await client.post(CHAT, json=body)

        results = await asyncio.gather(*(one(i) for i in range(rounds * len(CONCURRENT_CASES))))

    for index, response in results:
        assert response.status_code == 200, response.text
        expected = CONCURRENT_CASES[index % len(CONCURRENT_CASES)][2]
        assert response.headers["x-plano-model"] == expected, index
    forwarded = {request.json["metadata"]["tag"]: request for request in upstream.requests}
    assert len(forwarded) == len(results)
    for index, _ in results:
        expected = CONCURRENT_CASES[index % len(CONCURRENT_CASES)][2].split("/")[1]
        request = forwarded[str(index)]
        assert request.json["model"] == expected, (index, json.dumps(request.json))
        assert int(request.headers["content-length"]) == len(request.body)
