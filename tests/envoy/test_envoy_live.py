"""The generated config running in a real Envoy, against a scripted ext_proc and upstream.

Only 127.0.0.1 is used. One Envoy has no ext_proc at all (fail closed); the other has one
SERVING worker and one dead worker port, a live upstream and a dead one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from plano_extproc.config.upstreams import upstreams_for
from plano_extproc.contract.headers import CLUSTER_HEADER
from plano_extproc.envoy.render import render_envoy_yaml
from tests.envoy import fakes
from tests.envoy.support import (
    ENVOY,
    HTTPS_PROVIDERS,
    classifier_timeout,
    config_from,
    listener,
    running_envoy,
)
from tests.support.ports import free_ports

pytestmark = pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed")

BODY = b'{"model": "fast", "messages": [{"role": "user", "content": "hi"}]}'
REWRITTEN = b'{"model": "llama3.1", "messages": [{"role": "user", "content": "hi"}]}'
CLIENT_HEADERS = {"x-api-key": "client-key", "content-type": "application/json"}
OWN_REPLY = b'{"error": {"code": "ProviderUnavailable", "message": "from the ext_proc"}}'
READY_SECONDS = 10.0


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    return error


@pytest.fixture(scope="module")
def fail_closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Envoy whose only ext_proc port has nothing listening."""
    port, extproc_port = free_ports(2)
    config = config_from(HTTPS_PROVIDERS, listeners=listener(port))
    rendered = render_envoy_yaml(config, extproc_ports=(extproc_port,), admin_port=None)
    with running_envoy(rendered, tmp_path_factory.mktemp("fail_closed"), port) as base_url:
        yield base_url


def test_no_ext_proc_means_a_json_503(fail_closed: str) -> None:
    response = httpx.post(f"{fail_closed}/v1/chat/completions", content=BODY, timeout=10)
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "RoutingUnavailable"
    assert error["details"]["reason"].startswith("ext_proc_error")


def test_health_does_not_need_the_ext_proc(fail_closed: str) -> None:
    response = httpx.get(f"{fail_closed}/healthz", timeout=10)
    assert (response.status_code, response.text) == (200, "ok")


def test_body_over_the_limit_is_a_json_413(fail_closed: str) -> None:
    body = b"x" * (9 * 1024 * 1024)
    response = httpx.post(f"{fail_closed}/v1/chat/completions", content=body, timeout=30)
    assert response.status_code == 413
    assert error_of(response) == {
        "code": "InvalidRequest",
        "message": "request body exceeds 8388608 bytes",
        "details": {"reason": "body_too_large"},
    }


@dataclass(frozen=True)
class Gateway:
    base_url: str
    upstream: fakes.Upstream
    authority: str

    def post(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.base_url}{path}", content=BODY, headers=headers, timeout=10)


def _script(live: str, dead: str) -> fakes.Script:
    """What the scripted ext_proc does, by request path."""
    replies = {
        "/v1/chat/completions": lambda body: fakes.forward(live, "/v1/chat/completions", REWRITTEN),
        "/v1/flaky": lambda body: fakes.forward(live, "/flaky", body),
        "/v1/down": lambda body: fakes.forward(dead, "/v1/chat/completions", body),
        "/v1/own-503": lambda body: fakes.immediate(503, OWN_REPLY),
        "/v1/stall": lambda body: None,
        # Envoy's own headers stay out of the service's reach.
        "/v1/bad-mutation": lambda body: fakes.forward(
            live, "/", body, (("x-envoy-retry-on", "5xx"),)
        ),
        "/v1/no-cluster": lambda body: fakes.forward("", "/", body),
    }

    def script(path: str, body: bytes) -> fakes.pb.ProcessingResponse | None:
        if path.startswith("/routing/"):
            headers = (*fakes.JSON, ("x-plano-route-fallback", "error"))
            return fakes.immediate(200, b'{"models": ["none"]}', headers)
        return replies[path](body)

    return script


def _wait_for_ext_proc(base_url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        response = httpx.post(f"{base_url}/routing/v1/chat/completions", content=BODY, timeout=5)
        if response.status_code == 200:
            return
        time.sleep(0.1)
    raise RuntimeError("the ext_proc never became healthy in Envoy")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    upstream = fakes.Upstream()
    upstream_server = fakes.start_upstream(upstream)
    live_port = upstream_server.server_address[1]
    dead_port, port, *idle_worker_ports = free_ports(4)
    providers = (
        f"  - {{model: local/llama3.1, base_url: 'http://127.0.0.1:{live_port}', "
        f"provider_interface: openai}}\n"
        f"  - {{model: gone/model, base_url: 'http://127.0.0.1:{dead_port}', "
        f"provider_interface: openai}}\n"
    )
    config = config_from(
        providers, listeners=listener(port, max_retries=2), routing=classifier_timeout(100)
    )
    live, dead = (u.cluster for u in upstreams_for(config).values())
    extproc = fakes.start_extproc(_script(live, dead))
    # Two of the three worker ports have nothing behind them: health checking must keep them
    # out, although Envoy's default panic threshold would use every host below 50 % healthy.
    ports = (extproc.port, *idle_worker_ports)
    rendered = render_envoy_yaml(config, extproc_ports=ports, admin_port=None)
    try:
        with running_envoy(rendered, tmp_path_factory.mktemp("gateway"), port) as base_url:
            _wait_for_ext_proc(base_url)
            yield Gateway(base_url, upstream, f"127.0.0.1:{live_port}")
    finally:
        extproc.stop()
        upstream_server.shutdown()


def test_request_goes_where_the_ext_proc_says(gateway: Gateway) -> None:
    spoofed = {**CLIENT_HEADERS, CLUSTER_HEADER: "upstream_127_0_0_1_1"}
    for _ in range(4):
        response = gateway.post("/v1/chat/completions", spoofed)
        assert response.status_code == 200
    path, headers, body = gateway.upstream.seen[-1]
    assert (path, body) == ("/v1/chat/completions", REWRITTEN)
    assert headers["host"] == gateway.authority
    assert headers["authorization"] == "Bearer provider-key"
    assert "x-api-key" not in headers
    assert not [
        name
        for name in headers
        if name.startswith("x-envoy-") and name != "x-envoy-external-address"
    ]


def test_decision_metadata_becomes_response_headers(gateway: Gateway) -> None:
    response = gateway.post("/v1/chat/completions", CLIENT_HEADERS)
    assert response.headers["x-plano-model"] == "local/model"
    assert response.headers["x-plano-models"] == "local/model,other"
    # Keys the ext_proc did not write give no header, not an empty one.
    assert "x-plano-route" not in response.headers
    assert "x-plano-route-fallback" not in response.headers


def test_immediate_responses_keep_their_headers(gateway: Gateway) -> None:
    response = gateway.post("/routing/v1/chat/completions")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-plano-route-fallback"] == "error"


def test_with_max_retries_provider_errors_are_retried_on_the_same_cluster(
    gateway: Gateway,
) -> None:
    gateway.upstream.statuses["/flaky"] = [429, 503]
    seen = len(gateway.upstream.seen)
    response = gateway.post("/v1/flaky")
    assert response.status_code == 200
    attempts = gateway.upstream.seen[seen:]
    assert [(path, body) for path, _, body in attempts] == [("/flaky", BODY)] * 3


def test_unreachable_provider_is_a_json_503(gateway: Gateway) -> None:
    response = gateway.post("/v1/down")
    assert response.status_code == 503
    assert error_of(response)["code"] == "ProviderUnavailable"


def test_the_ext_procs_own_errors_pass_through(gateway: Gateway) -> None:
    response = gateway.post("/v1/own-503")
    assert (response.status_code, response.content) == (503, OWN_REPLY)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/v1/stall", "ext_proc_error_per-message_timeout_exceeded"),
        ("/v1/bad-mutation", "header_mutation_set_headers_failed"),
    ],
)
def test_a_failing_ext_proc_fails_closed(gateway: Gateway, path: str, reason: str) -> None:
    response = gateway.post(path)
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "RoutingUnavailable"
    assert error["details"] == {"reason": reason}
    assert not any(seen_path == "/" for seen_path, _, _ in gateway.upstream.seen)


def test_no_cluster_selected_is_a_json_404(gateway: Gateway) -> None:
    response = gateway.post("/v1/no-cluster")
    assert response.status_code == 404
    assert error_of(response)["code"] == "NotFound"
