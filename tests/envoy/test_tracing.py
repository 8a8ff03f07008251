"""Envoy's OpenTelemetry tracer in the generated config, for a config with `tracing`."""

from __future__ import annotations

from typing import Any

import pytest

from plano_extproc.config import load_config_text
from plano_extproc.envoy.render import render_envoy_config
from plano_extproc.envoy.tracing import COLLECTOR_CLUSTER, ENVOY_SERVICE_NAME, OTEL_TRACER

BASE = "version: v0.4.0\nmodel_providers: [{model: openai/gpt-4o-mini, access_key: k}]\n"


def rendered(tracing: str = "") -> dict[str, Any]:
    return render_envoy_config(load_config_text(BASE + tracing, {}))


def connection_manager(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def collector(config: dict[str, Any]) -> dict[str, Any] | None:
    clusters = config["static_resources"]["clusters"]
    return next((c for c in clusters if c["name"] == COLLECTOR_CLUSTER), None)


def test_no_tracing_section_means_no_tracer_and_no_collector() -> None:
    config = rendered()
    assert "tracing" not in connection_manager(config)
    assert collector(config) is None


def test_tracing_sends_envoys_spans_to_the_collector_at_the_sampling_rate() -> None:
    config = rendered(
        "tracing: {random_sampling: 25, opentracing_grpc_endpoint: 'http://otel.example:4317'}\n"
    )
    tracing = connection_manager(config)["tracing"]
    assert tracing["random_sampling"] == {"value": 25.0}
    assert tracing["provider"]["name"] == OTEL_TRACER
    tracer = tracing["provider"]["typed_config"]
    assert tracer["service_name"] == ENVOY_SERVICE_NAME
    assert tracer["grpc_service"]["envoy_grpc"]["cluster_name"] == COLLECTOR_CLUSTER
    cluster = collector(config)
    assert cluster is not None
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "otel.example", "port_value": 4317}
    assert cluster["type"] == "STRICT_DNS"
    assert "transport_socket" not in cluster


@pytest.mark.parametrize(
    ("endpoint", "port"), [("https://otel.example", 443), ("https://otel.example:4318", 4318)]
)
def test_an_https_collector_gets_tls(endpoint: str, port: int) -> None:
    cluster = collector(rendered(f"tracing: {{opentracing_grpc_endpoint: '{endpoint}'}}\n"))
    assert cluster is not None
    assert cluster["transport_socket"]["name"] == "envoy.transport_sockets.tls"
    socket = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert socket["socket_address"]["port_value"] == port
