"""Real Envoy in front of the test upstream, with a static config of our own (no ext_proc).

Proves the pieces the gateway fixtures rely on: Envoy starts and stops under `running_envoy`,
two run side by side, and the upstream behaves behind Envoy (keep-alive, retries on scripted
failures, timeouts on delayed replies, SSE delivered chunk by chunk).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from tests.e2e.sse import chat_text, sse_events
from tests.support.gateway import EnvoyProcess, envoy_binary, running_envoy
from tests.support.ports import free_ports
from tests.support.upstream import DefaultReply, StreamReply, UpstreamServer, failures

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
ROUTE_TIMEOUT = "1s"
RETRIES = 2

_TYPES = "type.googleapis.com/envoy.extensions.filters"
HCM_TYPE = f"{_TYPES}.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER_TYPE = f"{_TYPES}.http.router.v3.Router"


def _address(port: int) -> dict[str, Any]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def _static_config(listener_port: int, upstream_port: int) -> dict[str, Any]:
    """/healthz answered by Envoy itself; everything else proxied to the upstream."""
    routes = [
        {
            "match": {"path": "/healthz"},
            "direct_response": {"status": 200, "body": {"inline_string": "ok"}},
        },
        {
            "match": {"prefix": "/"},
            "route": {
                "cluster": "test_upstream",
                "timeout": ROUTE_TIMEOUT,
                "retry_policy": {"retry_on": "5xx", "num_retries": RETRIES},
            },
        },
    ]
    manager = {
        "@type": HCM_TYPE,
        "stat_prefix": "test",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]},
        "http_filters": [
            {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_TYPE}}
        ],
    }
    listener = {
        "name": "test_listener",
        "address": _address(listener_port),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }
    cluster = {
        "name": "test_upstream",
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": "test_upstream",
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(upstream_port)}}]}],
        },
    }
    return {
        "static_resources": {"listeners": [listener], "clusters": [cluster]},
        "admin": {"address": _address(0)},
    }


def _write_config(path: Path, listener_port: int, upstream_port: int) -> Path:
    path.write_text(yaml.safe_dump(_static_config(listener_port, upstream_port)), encoding="utf-8")
    return path


@pytest.fixture
def envoy(upstream: UpstreamServer, tmp_path: Path) -> Iterator[EnvoyProcess]:
    (port,) = free_ports(1)
    config = _write_config(tmp_path / "envoy.yaml", port, upstream.port)
    with running_envoy(config, tmp_path, port) as process:
        yield process


def test_static_config_validates(tmp_path: Path) -> None:
    config = _write_config(tmp_path / "envoy.yaml", *free_ports(2))

    result = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_envoy_stops_with_its_context(upstream: UpstreamServer, tmp_path: Path) -> None:
    (port,) = free_ports(1)
    config = _write_config(tmp_path / "envoy.yaml", port, upstream.port)

    with running_envoy(config, tmp_path, port) as envoy:
        assert httpx.get(f"{envoy.base_url}/healthz").text == "ok"
        assert httpx.get(f"{envoy.admin_url}/ready").status_code == 200

    assert not envoy.process.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{envoy.base_url}/healthz")


def test_two_envoys_run_side_by_side(upstream: UpstreamServer, tmp_path: Path) -> None:
    first_port, second_port = free_ports(2)
    first_config = _write_config(tmp_path / "first.yaml", first_port, upstream.port)
    second_config = _write_config(tmp_path / "second.yaml", second_port, upstream.port)

    with (
        running_envoy(first_config, tmp_path, first_port, name="first") as first,
        running_envoy(second_config, tmp_path, second_port, name="second") as second,
    ):
        assert httpx.get(f"{first.base_url}/healthz").status_code == 200
        assert httpx.get(f"{second.base_url}/healthz").status_code == 200


def test_sdk_requests_reach_the_upstream_over_one_connection(
    envoy: EnvoyProcess, upstream: UpstreamServer
) -> None:
    client = openai.OpenAI(base_url=f"{envoy.base_url}/v1", api_key="sk-client", max_retries=0)

    models = [
        client.chat.completions.create(model=f"m{index}", messages=[]).model for index in range(3)
    ]

    assert models == ["m0", "m1", "m2"]
    assert [request.json["model"] for request in upstream.requests_to(CHAT)] == models
    stats = httpx.get(f"{envoy.admin_url}/stats?filter=test_upstream.upstream_cx_total").text
    assert stats.strip() == "cluster.test_upstream.upstream_cx_total: 1"


def test_envoy_retries_scripted_failures(envoy: EnvoyProcess, upstream: UpstreamServer) -> None:
    upstream.script(CHAT, *failures(RETRIES), DefaultReply())

    response = httpx.post(f"{envoy.base_url}{CHAT}", json={"model": "m"})

    assert response.status_code == 200
    assert len(upstream.requests_to(CHAT)) == RETRIES + 1


def test_envoy_times_out_a_delayed_reply(envoy: EnvoyProcess, upstream: UpstreamServer) -> None:
    upstream.script(CHAT, DefaultReply(delay_s=30))

    response = httpx.post(f"{envoy.base_url}{CHAT}", json={"model": "m"}, timeout=20)

    assert response.status_code == 504


def test_envoy_delivers_sse_chunk_by_chunk(envoy: EnvoyProcess, upstream: UpstreamServer) -> None:
    gate = threading.Event()
    upstream.script(CHAT, StreamReply(("first", "second"), gate=gate))

    with httpx.stream(
        "POST", f"{envoy.base_url}{CHAT}", json={"model": "m", "stream": True}, timeout=20
    ) as response:
        events = sse_events(response.iter_lines())
        before_gate = [next(events), next(events)]
        gate.set()
        after_gate = list(events)

    assert response.headers["transfer-encoding"] == "chunked"
    assert chat_text(before_gate) == "first"
    assert chat_text(after_gate) == "second"
