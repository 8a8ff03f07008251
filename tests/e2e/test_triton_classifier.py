"""The `triton` classifier through real Envoy, against a real Triton (the stand-in engine, see
tests/support/triton_server.py): decisions route; a gateway started before Triton falls back
until Triton is ready; losing Triton mid-load fails no request, and routing resumes when it
returns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.gateway import Gateway, running_gateway
from tests.support.triton_server import TritonServer, running_triton
from tests.support.upstream import UpstreamServer

pytestmark = pytest.mark.e2e

REASONING = "complex_reasoning: walk me through the proof step by step"
LOAD_REQUESTS = 60
# The classifier reconnects at most a second apart (triton.RECONNECT_BACKOFF_MS); with gRPC's
# default back-off, grown over Triton's start, the next try could be 10 s and more away.
RECOVERY_SECONDS = 5.0


def triton_routing(url: str) -> dict[str, Any]:
    return {
        "routing": {
            "session_ttl_seconds": 600,
            "session_cache": {"type": "memory"},
            "classifier": {"type": "triton", "timeout_ms": 2000, "triton": {"url": url}},
        }
    }


@pytest.fixture(scope="module")
def late_triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    with running_triton(tmp_path_factory.mktemp("triton"), start=False) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    late_triton: TritonServer,
    upstream_server: UpstreamServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    overrides = triton_routing(late_triton.grpc_url)
    with running_gateway(
        tmp_path_factory.mktemp("gateway"), upstream_server, overrides=overrides
    ) as started:
        yield started


def routed_within(gateway: Gateway, text: str, seconds: float) -> httpx.Response:
    """The first decision that routes, or the last one after `seconds`: the classifier's
    connection comes back within RECONNECT_BACKOFF_MS of Triton, not at once."""
    deadline = time.monotonic() + seconds
    while True:
        answer = decide(gateway, text)
        if answer.json()["route"] is not None or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def decide(gateway: Gateway, text: str) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{gateway.base_url}/routing/v1/chat/completions", json=body, timeout=30)


def chat(gateway: Gateway, text: str) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{gateway.base_url}/v1/chat/completions", json=body, timeout=30)


def test_before_triton_is_ready_decisions_fall_back_then_route(
    gateway: Gateway, late_triton: TritonServer
) -> None:
    early = decide(gateway, REASONING)
    late_triton.start()
    routed = routed_within(gateway, REASONING, RECOVERY_SECONDS)

    assert early.status_code == 200
    assert early.json()["route"] is None
    assert early.headers["x-plano-route-fallback"] == "error"
    assert routed.status_code == 200
    assert routed.json()["route"] == "complex_reasoning"
    assert routed.json()["models"] == ["openai/gpt-4o", "openai/gpt-4o-mini"]


def test_a_proxied_request_goes_to_the_routes_model(
    gateway: Gateway, late_triton: TritonServer, upstream: UpstreamServer
) -> None:
    late_triton.wait_ready()
    answer = chat(gateway, REASONING)

    assert answer.status_code == 200
    assert answer.headers["x-plano-route"] == "complex_reasoning"
    assert upstream.requests[-1].json["model"] == "gpt-4o"


def test_losing_triton_mid_load_fails_no_request_and_routing_resumes(
    gateway: Gateway, late_triton: TritonServer, upstream: UpstreamServer
) -> None:
    late_triton.wait_ready()

    def send(index: int) -> httpx.Response:
        if index == LOAD_REQUESTS // 3:
            late_triton.kill()
        return chat(gateway, f"{REASONING} #{index}")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(LOAD_REQUESTS)))
    left_behind = late_triton.processes()
    late_triton.start()
    resumed = routed_within(gateway, REASONING, RECOVERY_SECONDS)

    assert [a.status_code for a in answers] == [200] * LOAD_REQUESTS
    fallbacks = [a.headers.get("x-plano-route-fallback") for a in answers]
    assert "error" in fallbacks  # those sent while Triton was gone went to the default model
    assert fallbacks[0] is None
    assert resumed.json()["route"] == "complex_reasoning"
    assert left_behind == []  # the killed server's python stubs went with it
