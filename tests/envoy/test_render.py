"""Structure of the generated Envoy config, read back through the typed API classes."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

import betterproto2
import pytest
from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
from envoy_data_plane.envoy.config.cluster.v3 import Cluster, ClusterDiscoveryType
from envoy_data_plane.envoy.config.route.v3 import Route, VirtualHost
from envoy_data_plane.envoy.extensions.access_loggers.stream.v3 import StdoutAccessLog
from envoy_data_plane.envoy.extensions.filters.http.buffer.v3 import Buffer
from envoy_data_plane.envoy.extensions.filters.http.ext_proc.v3 import (
    ExternalProcessor,
    ExternalProcessorRouteCacheAction,
    ExtProcOverrides,
    ExtProcPerRoute,
    ProcessingModeBodySendMode,
    ProcessingModeHeaderSendMode,
)
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
)
from envoy_data_plane.envoy.extensions.transport_sockets.tls.v3 import (
    SubjectAltNameMatcherSanType,
    UpstreamTlsContext,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import HttpProtocolOptions
from envoy_data_plane.google.protobuf import Any

from plano_extproc.config.model import DEFAULT_MAX_REQUEST_BYTES, Config
from plano_extproc.contract.clusters import (
    EXTPROC_CLUSTER,
    EXTPROC_FILTER,
    EXTPROC_HEALTH_SERVICE,
    FAILOVER_CLUSTER,
    TRANSLATE_FILTER,
    USAGE_FILTER,
)
from plano_extproc.contract.headers import (
    CLUSTER_HEADER,
    DECISION_HEADERS,
    TRANSLATE_HEADER,
    USAGE_HEADER,
)
from plano_extproc.contract.metadata import FILTER_KIND_METADATA, USAGE_FILTER_KIND
from plano_extproc.envoy.clusters import HTTP_PROTOCOL_OPTIONS
from plano_extproc.envoy.options import SYSTEM_CA_BUNDLE
from plano_extproc.envoy.render import build_bootstrap, render_envoy_config, render_envoy_yaml
from plano_extproc.envoy.routes import PROVIDER_REMOVED_HEADERS
from tests.envoy.support import (
    COMMITTED_ENVOY_YAML,
    HTTPS_PROVIDERS,
    LOCAL_PROVIDERS,
    classifier_timeout,
    config_from,
    example_config,
    listener,
)

M = TypeVar("M", bound=betterproto2.Message)


def unpack(packed: Any | None, kind: type[M]) -> M:
    message = packed.unpack()
    assert isinstance(message, kind)
    return message


def manager(bootstrap: Bootstrap) -> HttpConnectionManager:
    chain = bootstrap.static_resources.listeners[0].filter_chains[0]
    return unpack(chain.filters[0].typed_config, HttpConnectionManager)


def ext_proc_filter(bootstrap: Bootstrap) -> ExternalProcessor:
    return unpack(manager(bootstrap).http_filters[1].typed_config, ExternalProcessor)


def translate_filter(bootstrap: Bootstrap) -> ExternalProcessor:
    return unpack(manager(bootstrap).http_filters[2].typed_config, ExternalProcessor)


def virtual_host(bootstrap: Bootstrap) -> VirtualHost:
    return manager(bootstrap).route_config.virtual_hosts[0]


def routes(bootstrap: Bootstrap) -> list[Route]:
    return virtual_host(bootstrap).routes


def per_route(route: Route | VirtualHost, name: str) -> ExtProcPerRoute:
    return unpack(route.typed_per_filter_config[name], ExtProcPerRoute)


def clusters(bootstrap: Bootstrap) -> dict[str, Cluster]:
    return {c.name: c for c in bootstrap.static_resources.clusters}


def tls_context(cluster: Cluster) -> UpstreamTlsContext:
    return unpack(cluster.transport_socket.typed_config, UpstreamTlsContext)


def protocols(cluster: Cluster) -> HttpProtocolOptions:
    return unpack(
        cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS], HttpProtocolOptions
    )


def endpoints(cluster: Cluster) -> list[tuple[str, int]]:
    addresses = []
    for locality in cluster.load_assignment.endpoints:
        for entry in locality.lb_endpoints:
            socket = entry.endpoint.address.socket_address
            addresses.append((socket.address, socket.port_value))
    return addresses


def without_retry_policies(config: Config) -> Config:
    providers = tuple(replace(p, retry_policy=None) for p in config.providers)
    return replace(config, providers=providers)


@pytest.fixture(scope="module")
def example() -> Bootstrap:
    """The example's Envoy config as it is without failover (tests/envoy/test_failover.py has
    the failover parts)."""
    return build_bootstrap(without_retry_policies(example_config()))


def test_listener_and_timeouts_come_from_the_first_listener(example: Bootstrap) -> None:
    custom = build_bootstrap(
        config_from(LOCAL_PROVIDERS, listeners=listener(10000, "120s", "0.0.0.0"))
    )
    for bootstrap, port, seconds in ((example, 12000, 300), (custom, 10000, 120)):
        address = bootstrap.static_resources.listeners[0].address
        assert (address.socket_address.address, address.socket_address.port_value) == (
            "0.0.0.0",
            port,
        )
        assert manager(bootstrap).stream_idle_timeout == timedelta(seconds=seconds)
        proxied = [r.route for r in routes(bootstrap) if r.route is not None]
        # The failover route has no timeout of its own (each attempt has the listener's), and
        # decision API calls go to the workers.
        direct = [r for r in proxied if r.cluster not in (FAILOVER_CLUSTER, EXTPROC_CLUSTER)]
        assert {r.timeout for r in direct} == {timedelta(seconds=seconds)}


def test_connection_manager_logs_the_decision(example: Bootstrap) -> None:
    hcm = manager(example)
    assert hcm.generate_request_id is True
    log = unpack(hcm.access_log[0].typed_config, StdoutAccessLog)
    fields = log.log_format.json_format.to_dict()
    for command in (
        "%REQ(:METHOD)%",
        "%REQ(:PATH)%",
        "%RESPONSE_CODE%",
        "%DURATION%",
        "%UPSTREAM_CLUSTER%",
        "%DYNAMIC_METADATA(plano:route)%",
        "%DYNAMIC_METADATA(plano:model)%",
        "%DYNAMIC_METADATA(plano:identity)%",
        "%REQ(TRACEPARENT)%",
        "%REQ(X-REQUEST-ID)%",
    ):
        assert command in fields.values()


def test_size_limit_then_fail_closed_ext_procs_then_router(example: Bootstrap) -> None:
    filters = manager(example).http_filters
    assert [f.name for f in filters] == [
        "envoy.filters.http.buffer",
        EXTPROC_FILTER,
        TRANSLATE_FILTER,
        USAGE_FILTER,
        "envoy.filters.http.router",
    ]
    # Not `disabled` in the HCM: that would keep it out of every chain (see routes.py).
    assert [f.disabled for f in filters] == [False] * 5
    assert unpack(filters[0].typed_config, Buffer).max_request_bytes == DEFAULT_MAX_REQUEST_BYTES
    ext_proc = ext_proc_filter(example)
    assert ext_proc.grpc_service.envoy_grpc.cluster_name == EXTPROC_CLUSTER
    assert ext_proc.failure_mode_allow is False
    assert ext_proc.allow_mode_override is False
    assert ext_proc.route_cache_action is ExternalProcessorRouteCacheAction.CLEAR
    assert ext_proc.metadata_options.receiving_namespaces.untyped == ["plano"]
    mode = ext_proc.processing_mode
    headers, body = ProcessingModeHeaderSendMode, ProcessingModeBodySendMode
    assert (mode.request_header_mode, mode.request_body_mode) == (headers.SEND, body.BUFFERED)
    assert (mode.response_header_mode, mode.response_body_mode) == (headers.SKIP, body.NONE)
    assert (mode.request_trailer_mode, mode.response_trailer_mode) == (headers.SKIP, headers.SKIP)


def test_translating_ext_proc_streams_responses_only(example: Bootstrap) -> None:
    translate = translate_filter(example)
    assert translate.grpc_service.envoy_grpc.cluster_name == EXTPROC_CLUSTER
    assert translate.failure_mode_allow is False
    assert translate.allow_mode_override is False
    assert translate.message_timeout == timedelta(seconds=5)
    assert translate.metadata_options.forwarding_namespaces.untyped == ["plano"]
    assert translate.metadata_options.receiving_namespaces is None
    mode = translate.processing_mode
    headers, body = ProcessingModeHeaderSendMode, ProcessingModeBodySendMode
    assert (mode.request_header_mode, mode.request_body_mode) == (headers.SKIP, body.NONE)
    assert (mode.response_header_mode, mode.response_body_mode) == (headers.SEND, body.STREAMED)
    assert (mode.request_trailer_mode, mode.response_trailer_mode) == (headers.SKIP, headers.SKIP)


def test_translating_ext_proc_may_touch_only_the_body_headers(example: Bootstrap) -> None:
    rules = translate_filter(example).mutation_rules
    assert (rules.disallow_all, rules.disallow_is_error) == (True, True)
    allowed = re.compile(rules.allow_expression.regex)
    assert allowed.fullmatch("content-type")
    assert allowed.fullmatch("content-length")
    for name in [":status", "x-plano-model", "set-cookie", CLUSTER_HEADER, "authorization"]:
        assert not allowed.fullmatch(name), name


@pytest.mark.parametrize(("timeout_ms", "expected"), [(500, 1.5), (2000, 3.0)])
def test_message_timeout_outlasts_the_classifier(timeout_ms: int, expected: float) -> None:
    config = config_from(LOCAL_PROVIDERS, routing=classifier_timeout(timeout_ms))
    assert ext_proc_filter(build_bootstrap(config)).message_timeout == timedelta(seconds=expected)


def test_ext_proc_may_touch_ordinary_headers_and_path_only() -> None:
    """It removes whatever client header a provider must not see; Envoy's own, the routing
    pseudo-headers and host stay out of its reach (Envoy's defaults, not relaxed here)."""
    rules = ext_proc_filter(build_bootstrap(config_from(HTTPS_PROVIDERS))).mutation_rules
    assert (rules.disallow_all, rules.disallow_is_error) == (True, True)
    assert not rules.allow_all_routing
    assert not rules.allow_envoy
    allowed = re.compile(rules.allow_expression.regex)
    contract = [":path", "content-length", "authorization", "x-api-key", "anthropic-version"]
    replies = ["content-type", "allow", "retry-after", *DECISION_HEADERS]
    internal = [CLUSTER_HEADER, TRANSLATE_HEADER, USAGE_HEADER, "traceparent"]
    for name in [*contract, *internal, *replies, "x-tenant-id", "cookie", "x-plano"]:
        assert allowed.fullmatch(name), name
    for name in [":authority", ":method", ":scheme"]:
        assert not allowed.fullmatch(name), name
    never = re.compile(rules.disallow_expression.regex)
    for name in ["host", "x-envoy-retry-on"]:
        assert never.fullmatch(name), name


def test_route_table(example: Bootstrap) -> None:
    table = routes(example)
    assert [r.name for r in table] == [
        "health",
        "connect",
        "decision_api",
        "upstream_api_openai_com_443_tls_translated",
        "upstream_api_openai_com_443_tls_usage",
        "upstream_api_openai_com_443_tls",
        "upstream_api_anthropic_com_443_tls_translated",
        "upstream_api_anthropic_com_443_tls_usage",
        "upstream_api_anthropic_com_443_tls",
        "unrouted",
    ]
    health, connect, decision_api, *proxied, unrouted = table
    assert decision_api.match.prefix == "/plano.routing.v1.RoutingService/"
    assert decision_api.route.cluster == EXTPROC_CLUSTER
    assert per_route(decision_api, EXTPROC_FILTER).disabled
    assert connect.match.connect_matcher is not None
    assert connect.direct_response.status == 403
    assert health.match.path == "/healthz"
    assert health.direct_response.status == 200
    assert per_route(health, EXTPROC_FILTER).disabled
    assert unrouted.match.prefix == "/"
    assert unrouted.direct_response.status == 404
    for route in proxied:
        header = route.match.headers[0]
        assert header.name == CLUSTER_HEADER
        assert header.string_match.exact == route.route.cluster
        assert route.name.startswith(route.route.cluster)
        assert route.request_headers_to_remove == list(PROVIDER_REMOVED_HEADERS)


@pytest.mark.parametrize(
    ("position", "header", "response_filter"),
    [(3, TRANSLATE_HEADER, TRANSLATE_FILTER), (4, USAGE_HEADER, USAGE_FILTER)],
)
def test_translated_and_charged_requests_get_their_own_routes(
    example: Bootstrap, position: int, header: str, response_filter: str
) -> None:
    # Off for the virtual host (health, plain provider routes, the 404 and local replies) ...
    host = virtual_host(example)
    assert per_route(host, TRANSLATE_FILTER).disabled
    assert per_route(host, USAGE_FILTER).disabled
    variant, plain = routes(example)[position], routes(example)[5]
    assert variant.match.headers[1].name == header
    assert variant.match.headers[1].present_match is True
    # ... and back on, with no overrides, on the routes of the requests carrying the header.
    assert per_route(variant, response_filter) == ExtProcPerRoute(overrides=ExtProcOverrides())
    assert list(variant.typed_per_filter_config) == [response_filter]
    assert plain.typed_per_filter_config == {}
    assert variant.match.headers[0] == plain.match.headers[0]
    assert variant.route == plain.route
    assert variant.request_headers_to_remove == plain.request_headers_to_remove
    assert variant.response_headers_to_add == plain.response_headers_to_add


def test_the_usage_filter_observes_without_holding_the_answer(example: Bootstrap) -> None:
    usage = next(f for f in manager(example).http_filters if f.name == USAGE_FILTER)
    config = ExternalProcessor().parse(usage.typed_config.value)
    assert config.observability_mode
    assert config.failure_mode_allow
    assert config.processing_mode.request_header_mode == ProcessingModeHeaderSendMode.SKIP
    assert config.processing_mode.response_body_mode == ProcessingModeBodySendMode.STREAMED
    metadata = {(h.key, h.value) for h in config.grpc_service.initial_metadata}
    assert metadata == {(FILTER_KIND_METADATA, USAGE_FILTER_KIND)}


def test_provider_routes_report_the_decision_and_make_one_request(example: Bootstrap) -> None:
    route = routes(example)[3]
    assert route.route.host_rewrite_literal == "api.openai.com"
    assert route.route.retry_policy is None  # no max_retries: exactly one upstream request
    added = {o.header.key: o for o in route.response_headers_to_add if o.header is not None}
    assert list(added) == list(DECISION_HEADERS)
    for header, key in DECISION_HEADERS.items():
        assert added[header].header.value == f"%DYNAMIC_METADATA(plano:{key})%"
        assert added[header].keep_empty_value is False


def test_listener_max_retries_retries_the_same_provider_as_plano_does() -> None:
    config = config_from(LOCAL_PROVIDERS, listeners=listener(12000, "60s", max_retries=3))
    route = routes(build_bootstrap(config))[3]
    policy = route.route.retry_policy
    assert set(policy.retry_on.split(",")) == {
        "5xx",
        "connect-failure",
        "refused-stream",
        "reset",
        "retriable-status-codes",
    }
    assert policy.retriable_status_codes == [429, 500, 502, 503, 504]
    assert policy.num_retries == 3
    assert policy.per_try_timeout == timedelta(seconds=60)
    assert policy.retry_back_off.base_interval == timedelta(milliseconds=500)
    assert policy.retry_back_off.max_interval == timedelta(seconds=5)


def test_https_providers_get_verified_tls_clusters() -> None:
    by_name = clusters(build_bootstrap(config_from(HTTPS_PROVIDERS)))
    groq = by_name["upstream_api_groq_com_443_tls"]
    assert groq.type is ClusterDiscoveryType.LOGICAL_DNS
    assert endpoints(groq) == [("api.groq.com", 443)]
    context = tls_context(groq)
    assert context.sni == "api.groq.com"
    assert context.common_tls_context.alpn_protocols == ["h2", "http/1.1"]
    validation = context.common_tls_context.validation_context
    assert validation.trusted_ca.filename == SYSTEM_CA_BUNDLE
    san = validation.match_typed_subject_alt_names[0]
    assert san.san_type is SubjectAltNameMatcherSanType.DNS
    assert san.matcher.exact == "api.groq.com"
    assert protocols(groq).auto_config is not None

    by_ip = by_name["upstream_10_1_2_3_8443_tls"]
    assert by_ip.type is ClusterDiscoveryType.STATIC
    assert tls_context(by_ip).sni == ""
    validation = tls_context(by_ip).common_tls_context.validation_context
    assert (
        validation.match_typed_subject_alt_names[0].san_type
        is SubjectAltNameMatcherSanType.IP_ADDRESS
    )


def test_plain_http_providers_sharing_an_endpoint_share_a_cluster() -> None:
    by_name = clusters(build_bootstrap(config_from(LOCAL_PROVIDERS)))
    assert list(by_name) == [EXTPROC_CLUSTER, "upstream_127_0_0_1_11434", "upstream_localhost_1234"]
    ollama = by_name["upstream_127_0_0_1_11434"]
    assert ollama.type is ClusterDiscoveryType.STATIC
    assert ollama.transport_socket is None
    assert protocols(ollama).explicit_http_config.http_protocol_options is not None
    assert by_name["upstream_localhost_1234"].type is ClusterDiscoveryType.LOGICAL_DNS


def test_ext_proc_cluster_streams_only_to_serving_workers() -> None:
    bootstrap = build_bootstrap(example_config(), extproc_ports=range(50051, 50054))
    extproc = clusters(bootstrap)[EXTPROC_CLUSTER]
    assert extproc.type is ClusterDiscoveryType.STATIC
    assert endpoints(extproc) == [("127.0.0.1", 50051), ("127.0.0.1", 50052), ("127.0.0.1", 50053)]
    assert protocols(extproc).explicit_http_config.http2_protocol_options is not None
    check = extproc.health_checks[0].grpc_health_check
    assert check.service_name == EXTPROC_HEALTH_SERVICE
    assert extproc.common_lb_config.healthy_panic_threshold.value == 0
    assert extproc.circuit_breakers.thresholds[0].max_requests == 100_000


def test_ext_proc_by_host_name_is_resolved() -> None:
    bootstrap = build_bootstrap(example_config(), extproc_host="plano-extproc.svc")
    extproc = clusters(bootstrap)[EXTPROC_CLUSTER]
    assert extproc.type is ClusterDiscoveryType.STRICT_DNS
    # The name may stand for several workers: only SERVING ones get streams.
    assert extproc.common_lb_config.healthy_panic_threshold.value == 0


def test_a_single_worker_keeps_its_streams_when_it_misses_health_checks() -> None:
    bootstrap = build_bootstrap(example_config(), extproc_ports=[50051])
    extproc = clusters(bootstrap)[EXTPROC_CLUSTER]
    assert extproc.common_lb_config.healthy_panic_threshold.value == 50


def test_edge_timeouts_and_the_connection_limit(example: Bootstrap) -> None:
    hcm = manager(example)
    assert hcm.request_headers_timeout == timedelta(seconds=10)
    assert hcm.request_timeout == timedelta(seconds=60)
    monitor = example.overload_manager.resource_monitors[0]
    assert monitor.name == "envoy.resource_monitors.global_downstream_max_connections"


def test_local_replies_keep_the_ext_procs_own_answers() -> None:
    listener = replace(example_config().listeners[0], max_request_bytes=1024)
    rendered = render_envoy_config(replace(example_config(), listeners=(listener,)))
    hcm = rendered["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    replies = hcm["typed_config"]["local_reply_config"]
    assert "body_format" not in replies
    summary = []
    for mapper in replies["mappers"]:
        match = mapper["filter"]
        conditions = match["and_filter"]["filters"] if "and_filter" in match else [match]
        status = next(c for c in conditions if "status_code_filter" in c)
        flags = [
            c["response_flag_filter"]["flags"] for c in conditions if "response_flag_filter" in c
        ]
        error = mapper["body_format_override"]["json_format"]["error"]
        summary.append(
            (
                status["status_code_filter"]["comparison"]["value"]["default_value"],
                bool(flags),
                mapper["status_code"],
                error["code"],
            )
        )
    assert summary == [
        (500, False, 503, "RoutingUnavailable"),
        (504, True, 504, "ProviderUnavailable"),
        (504, False, 503, "RoutingUnavailable"),
        (503, True, 503, "ProviderUnavailable"),
        (413, False, 413, "InvalidRequest"),
        (408, False, 408, "RequestTimeout"),
        (400, False, 400, "InvalidRequest"),
        (403, False, 403, "Forbidden"),
    ]
    # The 400 is only Envoy's own: no request id yet, or a codec error.
    envoys_400 = replies["mappers"][6]["filter"]["and_filter"]["filters"][1]["or_filter"]
    assert len(envoys_400["filters"]) == 2
    too_large = replies["mappers"][4]["body_format_override"]["json_format"]["error"]
    assert too_large == {
        "code": "InvalidRequest",
        "message": "request body exceeds 1024 bytes",
        "details": {"reason": "body_too_large"},
    }


def test_admin_is_local_and_optional(example: Bootstrap) -> None:
    socket = example.admin.address.socket_address
    assert (socket.address, socket.port_value) == ("127.0.0.1", 9901)
    assert build_bootstrap(example_config(), admin_port=None).admin is None


def test_extension_configs_carry_their_type_urls() -> None:
    rendered = render_envoy_config(example_config())
    listener_filter = rendered["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    assert listener_filter["typed_config"]["@type"] == (
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
        ".HttpConnectionManager"
    )


def test_at_least_one_ext_proc_port() -> None:
    with pytest.raises(ValueError, match="ext_proc port"):
        build_bootstrap(example_config(), extproc_ports=())


def test_committed_envoy_yaml_is_current() -> None:
    # Regenerate with: plano-extproc envoy-config config.example.yaml > envoy/envoy.yaml
    assert COMMITTED_ENVOY_YAML.read_text() == render_envoy_yaml(example_config())
