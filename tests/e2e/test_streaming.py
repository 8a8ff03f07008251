"""Streaming through the gateway: SSE passes chunk by chunk when client and provider speak the
same API.

The upstream's gated StreamReply sends its first text delta and then holds the rest until the
test opens the gate: a client that reads that delta first proves nothing buffers the stream,
without timing anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import ANTHROPIC_MODEL, Gateway
from tests.support.upstream import StreamReply, UpstreamServer

pytestmark = pytest.mark.e2e

REASONING = "Explain the trade-offs between microservices and monolithic architectures"
PIECES = ("first-piece", " second-piece", " third-piece")
STREAM_TIMEOUT = httpx.Timeout(30.0)


def _data_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Every JSON `data:` payload, for all three APIs' streams (``[DONE]`` skipped)."""
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line.removeprefix("data: "))


def _text_of(event: dict[str, Any]) -> str:
    """The text delta an event carries in any of the three APIs, else ""."""
    if event.get("object") == "chat.completion.chunk":
        return "".join(choice["delta"].get("content") or "" for choice in event["choices"])
    if event.get("type") == "content_block_delta":
        return str(event["delta"].get("text", ""))
    if event.get("type") == "response.output_text.delta":
        return str(event["delta"])
    return ""


CASES = {
    "chat": (
        "/v1/chat/completions",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]},
        "openai/gpt-4o-mini",
        "gpt-4o-mini",
    ),
    "messages": (
        "/v1/messages",
        {
            "model": "claude-sonnet-4-20250514",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hello there"}],
        },
        ANTHROPIC_MODEL,
        "claude-sonnet-4-20250514",
    ),
    "responses": (
        "/v1/responses",
        {"model": "fast-model", "input": "hello there"},
        "openai/gpt-4o-mini",
        "gpt-4o-mini",
    ),
}


@pytest.mark.parametrize("api", list(CASES))
def test_stream_is_delivered_chunk_by_chunk(
    gateway: Gateway, upstream: UpstreamServer, api: str
) -> None:
    path, body, model, bare = CASES[api]
    gate = threading.Event()
    upstream.script(path, StreamReply(PIECES, gate=gate))

    try:
        with httpx.stream(
            "POST",
            f"{gateway.base_url}{path}",
            json={**body, "stream": True},
            headers={"authorization": "Bearer client-secret"},
            timeout=STREAM_TIMEOUT,
        ) as response:
            assert response.status_code == 200, gateway.log_tails()
            events = _data_events(response.iter_lines())
            before_gate = ""
            for event in events:
                before_gate += _text_of(event)
                if before_gate:
                    break
            # The first delta arrived while the upstream still holds the rest of the stream.
            assert not gate.is_set()
            gate.set()
            after_gate = "".join(_text_of(event) for event in events)
    finally:
        gate.set()

    assert before_gate == PIECES[0]
    assert after_gate == "".join(PIECES[1:])
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-plano-model"] == model
    assert response.headers["x-plano-pinned"] == "false"
    (forwarded,) = upstream.requests_to(path)
    assert forwarded.json["stream"] is True
    assert forwarded.json["model"] == bare
    assert "client-secret" not in json.dumps(dict(forwarded.headers))


def test_routed_stream_carries_the_route_headers(
    gateway: Gateway, upstream: UpstreamServer
) -> None:
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": REASONING}],
    }

    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/chat/completions", json=body, timeout=STREAM_TIMEOUT
    ) as response:
        lines = list(response.iter_lines())

    assert response.status_code == 200, gateway.log_tails()
    assert response.headers["x-plano-route"] == "complex_reasoning"
    assert response.headers["x-plano-model"] == "openai/gpt-4o"
    assert lines.count("data: [DONE]") == 1
    chunks = list(_data_events(iter(lines)))
    assert {chunk["model"] for chunk in chunks} == {"gpt-4o"}
    assert "".join(_text_of(chunk) for chunk in chunks) == "Hello from the test upstream."
