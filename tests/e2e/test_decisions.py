"""Decision endpoints through Envoy: `/routing/v1/{chat/completions,messages,responses}`.

The seed demo's requests (demo/requests/*.json) in all three client formats, the exact answer
shape (key order, trace ids from W3C `traceparent`), and that no decision call ever reaches a
provider.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.gateway import ANTHROPIC_MODEL, Gateway
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

DEMO_REQUESTS = Path(__file__).parents[2] / "demo" / "requests"
DECISION_PATHS = {
    "chat": "/routing/v1/chat/completions",
    "messages": "/routing/v1/messages",
    "responses": "/routing/v1/responses",
}
CODE_MODELS = [ANTHROPIC_MODEL, "openai/gpt-4o"]
REASONING_MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini"]
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def demo_body(name: str) -> dict[str, Any]:
    return json.loads((DEMO_REQUESTS / name).read_text(encoding="utf-8"))


def demo_text(name: str) -> str:
    """The user text of a demo request, whatever its format."""
    body = demo_body(name)
    if "input" in body:
        return str(body["input"])
    return str(body["messages"][-1]["content"])


def body_for(api: str, text: str) -> dict[str, Any]:
    """A minimal valid request body of the given client format asking `text`."""
    if api == "chat":
        return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    if api == "messages":
        return {
            "model": "gpt-4o-mini",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": text}],
        }
    return {"model": "gpt-4o-mini", "input": text}


def decide(
    gateway: Gateway, api: str, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{gateway.base_url}{DECISION_PATHS[api]}",
        content=content,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=20,
    )


@pytest.mark.parametrize(
    ("request_file", "api", "models", "route"),
    [
        ("1_code_generation.chat.json", "chat", CODE_MODELS, "code_generation"),
        ("2_complex_reasoning.chat.json", "chat", REASONING_MODELS, "complex_reasoning"),
        ("3_no_match.chat.json", "chat", ["none"], None),
        ("4_code_generation.messages.json", "messages", CODE_MODELS, "code_generation"),
        ("5_code_generation.responses.json", "responses", CODE_MODELS, "code_generation"),
        ("6_inline_routing.chat.json", "chat", REASONING_MODELS, "coding"),
    ],
)
def test_seed_demo_requests_get_the_demo_decisions(
    gateway: Gateway,
    upstream: UpstreamServer,
    request_file: str,
    api: str,
    models: list[str],
    route: str | None,
) -> None:
    response = decide(gateway, api, (DEMO_REQUESTS / request_file).read_bytes())

    assert response.status_code == 200, gateway.log_tails()
    assert response.headers["content-type"] == "application/json"
    decision = response.json()
    assert list(decision) == ["models", "route", "trace_id"]
    assert decision["models"] == models
    assert decision["route"] == route
    assert TRACE_ID.match(decision["trace_id"])
    assert upstream.requests == []


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
@pytest.mark.parametrize(
    ("request_file", "models", "route"),
    [
        ("1_code_generation.chat.json", CODE_MODELS, "code_generation"),
        ("2_complex_reasoning.chat.json", REASONING_MODELS, "complex_reasoning"),
        ("3_no_match.chat.json", ["none"], None),
    ],
)
def test_every_format_gets_the_same_decision(
    gateway: Gateway,
    upstream: UpstreamServer,
    api: str,
    request_file: str,
    models: list[str],
    route: str | None,
) -> None:
    response = decide(gateway, api, body_for(api, demo_text(request_file)))

    assert response.status_code == 200, gateway.log_tails()
    assert response.json()["models"] == models
    assert response.json()["route"] == route
    assert upstream.requests == []


def test_no_match_answers_none_with_a_null_route(gateway: Gateway) -> None:
    body = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}

    response = decide(gateway, "chat", body)

    # The exact bytes: "route" must be JSON null (not absent, not "none"), and nothing else added.
    text = response.text
    assert text.startswith('{"models":["none"],"route":null,"trace_id":"'), text
    assert list(response.json()) == ["models", "route", "trace_id"]


def test_traceparent_trace_id_is_the_decision_trace_id(gateway: Gateway) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}

    responses = [
        decide(gateway, api, body_for(api, demo_text("1_code_generation.chat.json")), headers)
        for api in DECISION_PATHS
    ]

    assert [response.json()["trace_id"] for response in responses] == [trace_id] * 3


def test_each_call_without_traceparent_gets_a_fresh_trace_id(gateway: Gateway) -> None:
    body = demo_body("3_no_match.chat.json")

    trace_ids = [decide(gateway, "chat", body).json()["trace_id"] for _ in range(3)]

    assert all(TRACE_ID.match(trace_id) for trace_id in trace_ids)
    assert len(set(trace_ids)) == 3


def test_an_invalid_traceparent_is_replaced_by_a_new_trace_id(gateway: Gateway) -> None:
    headers = {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}

    trace_id = decide(gateway, "chat", demo_body("3_no_match.chat.json"), headers).json()[
        "trace_id"
    ]

    assert TRACE_ID.match(trace_id)
    assert trace_id != "0" * 32


def test_decision_calls_never_reach_the_upstream(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    """A decision with every kind of header a proxied call would carry still stays local."""
    headers = {
        "authorization": "Bearer client-secret",
        "x-plano-cluster": "anything",
        "x-model-affinity": f"decision-only-{uuid.uuid4().hex}",
    }

    statuses = [
        decide(gateway, api, body_for(api, demo_text("1_code_generation.chat.json")), headers)
        for api in DECISION_PATHS
    ]

    assert [response.status_code for response in statuses] == [200, 200, 200]
    assert upstream.requests == []
