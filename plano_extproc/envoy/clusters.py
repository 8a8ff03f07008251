"""Envoy clusters: the ext_proc workers, and one per distinct provider endpoint."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import timedelta
from typing import Any as AnyField
from urllib.parse import urlsplit

from envoy_data_plane.envoy.config.cluster import v3 as cluster
from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.config.endpoint import v3 as endpoint
from envoy_data_plane.envoy.extensions.transport_sockets.tls import v3 as tls
from envoy_data_plane.envoy.extensions.upstreams.http import v3 as http
from envoy_data_plane.envoy.type.matcher import v3 as matcher
from envoy_data_plane.envoy.type.v3 import Percent
from envoy_data_plane.google.protobuf import Any

from plano_extproc.config.upstreams import Upstream
from plano_extproc.contract.clusters import EXTPROC_CLUSTER, EXTPROC_HEALTH_SERVICE

HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls"

IP_FAMILY = cluster.ClusterDnsLookupFamily.V4_PREFERRED
EXTPROC_CONNECT_TIMEOUT = timedelta(seconds=1)
PROVIDER_CONNECT_TIMEOUT = timedelta(seconds=10)
HEALTH_CHECK_INTERVAL = timedelta(seconds=1)
HEALTH_CHECK_TIMEOUT = timedelta(seconds=1)
SINGLE_WORKER_PANIC_PERCENT = 50.0
# Every in-flight request holds one ext_proc stream and, while proxied, one provider request;
# Envoy's default of 1024 per cluster would cap the whole gateway.
MAX_CONCURRENT_REQUESTS = 100_000


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _load_assignment(name: str, host: str, ports: Sequence[int]) -> endpoint.ClusterLoadAssignment:
    def lb_endpoint(port: int) -> endpoint.LbEndpoint:
        address = core.Address(socket_address=core.SocketAddress(address=host, port_value=port))
        return endpoint.LbEndpoint(endpoint=endpoint.Endpoint(address=address))

    localities = [endpoint.LocalityLbEndpoints(lb_endpoints=[lb_endpoint(p) for p in ports])]
    return endpoint.ClusterLoadAssignment(cluster_name=name, endpoints=localities)


def circuit_breakers() -> cluster.CircuitBreakers:
    limit = MAX_CONCURRENT_REQUESTS
    threshold = cluster.CircuitBreakersThresholds(
        max_connections=limit, max_pending_requests=limit, max_requests=limit, max_retries=limit
    )
    return cluster.CircuitBreakers(thresholds=[threshold])


def _protocol_options(options: http.HttpProtocolOptions) -> dict[str, Any]:
    return {HTTP_PROTOCOL_OPTIONS: Any.pack(options)}


def _grpc_health_check() -> core.HealthCheck:
    # no_traffic_interval defaults to 60 s: a worker started after Envoy would wait that long.
    return core.HealthCheck(
        timeout=HEALTH_CHECK_TIMEOUT,
        interval=HEALTH_CHECK_INTERVAL,
        no_traffic_interval=HEALTH_CHECK_INTERVAL,
        unhealthy_threshold=2,
        healthy_threshold=1,
        grpc_health_check=core.HealthCheckGrpcHealthCheck(service_name=EXTPROC_HEALTH_SERVICE),
    )


def _discovery(host: str, for_names: cluster.ClusterDiscoveryType) -> cluster.ClusterDiscoveryType:
    return cluster.ClusterDiscoveryType.STATIC if _is_ip(host) else for_names


def _grpc_cluster(
    name: str, host: str, ports: Sequence[int], **fields: AnyField
) -> cluster.Cluster:
    """A gRPC (HTTP/2) upstream: a host name is resolved to all its addresses (STRICT_DNS)."""
    http2 = http.HttpProtocolOptionsExplicitHttpConfig(
        http2_protocol_options=core.Http2ProtocolOptions()
    )
    return cluster.Cluster(
        name=name,
        type=_discovery(host, cluster.ClusterDiscoveryType.STRICT_DNS),
        dns_lookup_family=IP_FAMILY,
        connect_timeout=EXTPROC_CONNECT_TIMEOUT,
        load_assignment=_load_assignment(name, host, ports),
        typed_extension_protocol_options=_protocol_options(
            http.HttpProtocolOptions(explicit_http_config=http2)
        ),
        **fields,
    )


def extproc_cluster(host: str, ports: Sequence[int]) -> cluster.Cluster:
    """The ext_proc workers over HTTP/2; only those whose gRPC health is SERVING get streams.

    A host name (a Kubernetes Service, a compose service) is resolved to all its addresses.
    """
    return _grpc_cluster(
        EXTPROC_CLUSTER,
        host,
        ports,
        health_checks=[_grpc_health_check()],
        common_lb_config=cluster.ClusterCommonLbConfig(
            healthy_panic_threshold=Percent(value=_panic_threshold(host, ports))
        ),
        circuit_breakers=circuit_breakers(),
    )


def _panic_threshold(host: str, ports: Sequence[int]) -> float:
    """Below this share of healthy workers Envoy streams to every worker, healthy or not.

    Several workers (or a host name, which may resolve to several): 0, so streams go to SERVING
    workers only, however few; a crashed or draining worker gets none. One worker at an
    address: Envoy's own 50 %, so a worker that misses its health checks while busy (a burst of
    large bodies) keeps getting streams, slow, rather than every request failing with 503 until
    its next good check; with nothing to fail over to, a slow worker beats none.
    """
    return SINGLE_WORKER_PANIC_PERCENT if len(ports) == 1 and _is_ip(host) else 0.0


def grpc_collector_cluster(name: str, url: str, ca_bundle: str) -> cluster.Cluster:
    """An OTLP/gRPC collector at ``http(s)://host:port``: TLS for https."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    tls_socket = _tls_socket(host, ca_bundle) if parts.scheme == "https" else None
    return _grpc_cluster(name, host, [port], transport_socket=tls_socket)


def _san_matcher(host: str) -> tls.SubjectAltNameMatcher:
    san_type = (
        tls.SubjectAltNameMatcherSanType.IP_ADDRESS
        if _is_ip(host)
        else tls.SubjectAltNameMatcherSanType.DNS
    )
    return tls.SubjectAltNameMatcher(san_type=san_type, matcher=matcher.StringMatcher(exact=host))


def _tls_socket(host: str, ca_bundle: str) -> core.TransportSocket:
    validation = tls.CertificateValidationContext(
        trusted_ca=core.DataSource(filename=ca_bundle),
        match_typed_subject_alt_names=[_san_matcher(host)],
    )
    context = tls.UpstreamTlsContext(
        # SNI carries host names only, never an IP literal.
        sni="" if _is_ip(host) else host,
        common_tls_context=tls.CommonTlsContext(
            validation_context=validation, alpn_protocols=["h2", "http/1.1"]
        ),
    )
    return core.TransportSocket(name=TLS_TRANSPORT_SOCKET, typed_config=Any.pack(context))


def _provider_protocols(upstream: Upstream) -> http.HttpProtocolOptions:
    if upstream.tls:
        auto = http.HttpProtocolOptionsAutoHttpConfig(
            http_protocol_options=core.Http1ProtocolOptions(),
            http2_protocol_options=core.Http2ProtocolOptions(),
        )
        return http.HttpProtocolOptions(auto_config=auto)
    http1 = http.HttpProtocolOptionsExplicitHttpConfig(
        http_protocol_options=core.Http1ProtocolOptions()
    )
    return http.HttpProtocolOptions(explicit_http_config=http1)


def provider_cluster(upstream: Upstream, ca_bundle: str) -> cluster.Cluster:
    """One provider endpoint: TLS verified against `ca_bundle` for https base_urls."""
    return cluster.Cluster(
        name=upstream.cluster,
        type=_discovery(upstream.host, cluster.ClusterDiscoveryType.LOGICAL_DNS),
        dns_lookup_family=IP_FAMILY,
        connect_timeout=PROVIDER_CONNECT_TIMEOUT,
        load_assignment=_load_assignment(upstream.cluster, upstream.host, [upstream.port]),
        typed_extension_protocol_options=_protocol_options(_provider_protocols(upstream)),
        transport_socket=_tls_socket(upstream.host, ca_bundle) if upstream.tls else None,
        circuit_breakers=circuit_breakers(),
    )
