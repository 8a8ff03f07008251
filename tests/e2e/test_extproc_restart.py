"""In-flight requests and the ext_proc's death or restart (real Envoy, `serve`).

Once a request is routed, only a translated answer still needs the service: a routed request
survives SIGKILL of the ext_proc, and a translated stream survives SIGTERM (the drain lasts as
long as the longest request)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory
from tests.support.gateway import NATIVE_ANTHROPIC_MODEL, Gateway
from tests.support.upstream import DefaultReply, StreamReply, UpstreamServer

pytestmark = pytest.mark.e2e

SLOW_S = 2.0
FAILOVER_MODEL = "openai/gpt-4o-mini"


def _policy_providers(upstream: UpstreamServer) -> dict[str, Any]:
    """The routed model with a retry_policy: its attempts go through the attempt filter."""
    providers = [
        {
            "model": FAILOVER_MODEL,
            "access_key": "$TEST_OPENAI_KEY",
            "base_url": upstream.url,
            "default": True,
            "retry_policy": {"fallback_models": ["openai/gpt-4o"]},
        },
        {"model": "openai/gpt-4o", "access_key": "$TEST_OPENAI_KEY", "base_url": upstream.url},
    ]
    return {"model_providers": providers, "model_aliases": {}, "routing_preferences": []}


def _post_in_background(gateway: Gateway, body: dict[str, Any]) -> dict[str, Any]:
    """Starts the request; its outcome appears under "response" (or "error")."""
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = httpx.post(
                f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30
            )
        except httpx.HTTPError as error:
            outcome["error"] = error

    thread = threading.Thread(target=send)
    thread.start()
    outcome["thread"] = thread
    return outcome


def _finished(outcome: dict[str, Any]) -> httpx.Response:
    outcome["thread"].join(30)
    assert "error" not in outcome, outcome.get("error")
    return outcome["response"]


@pytest.mark.parametrize("policy", [False, True], ids=["direct", "retry_policy"])
def test_a_routed_request_survives_a_sigkill_of_the_ext_proc(
    make_gateway: GatewayFactory, upstream: UpstreamServer, policy: bool
) -> None:
    gateway = make_gateway(overrides=_policy_providers(upstream) if policy else None)
    upstream.script("/v1/chat/completions", DefaultReply(delay_s=SLOW_S))
    body = {"model": FAILOVER_MODEL, "messages": [{"role": "user", "content": "hi"}]}

    outcome = _post_in_background(gateway, body)
    upstream.wait_for_requests(1)
    os.kill(gateway.extproc.pid, signal.SIGKILL)
    response = _finished(outcome)

    assert response.status_code == 200, gateway.log_tails()
    assert response.json()["choices"][0]["message"]["content"]


def test_a_translated_stream_survives_sigterm(
    make_gateway: GatewayFactory, upstream: UpstreamServer
) -> None:
    gateway = make_gateway(drain_seconds=20)
    pieces = tuple(f"piece-{index} " for index in range(8))
    upstream.script("/v1/messages", StreamReply(pieces, interval_s=0.3))
    body = {
        "model": NATIVE_ANTHROPIC_MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    received: list[str] = []
    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30
    ) as response:
        for line in response.iter_lines():
            if not received:
                os.kill(gateway.extproc.pid, signal.SIGTERM)
            received.append(line)

    assert response.status_code == 200
    text = "".join(received)
    assert all(piece.strip() in text for piece in pieces), text
    assert "[DONE]" in text
