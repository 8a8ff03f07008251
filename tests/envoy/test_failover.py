"""The Envoy side of failover: present exactly when a provider has a `retry_policy`, and wired
so that Envoy retries only when the attempt filter asks."""

from __future__ import annotations

import re
from datetime import timedelta

from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
from envoy_data_plane.envoy.config.cluster.v3 import Cluster
from envoy_data_plane.envoy.config.route.v3 import Route
from envoy_data_plane.envoy.extensions.filters.http.ext_proc.v3 import ExternalProcessor
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import HttpProtocolOptions

from plano_extproc.contract.clusters import ATTEMPTS_LISTENER, FAILOVER_CLUSTER
from plano_extproc.contract.headers import (
    ATTEMPT_TIMEOUT_HEADER,
    CLUSTER_HEADER,
    RETRY_HEADER,
    UPSTREAM_TIMEOUT_HEADER,
)
from plano_extproc.contract.metadata import ATTEMPT_FILTER_KIND, FILTER_KIND_METADATA
from plano_extproc.envoy.clusters import HTTP_PROTOCOL_OPTIONS
from plano_extproc.envoy.render import build_bootstrap
from tests.envoy.support import (
    LOCAL_PROVIDERS,
    TIMED_PROVIDERS,
    config_from,
    example_config,
    listener,
)


def _manager(listener: object) -> HttpConnectionManager:
    typed = listener.filter_chains[0].filters[0].typed_config  # type: ignore[attr-defined]
    return HttpConnectionManager().parse(typed.value)


def _bootstrap() -> Bootstrap:
    return build_bootstrap(example_config())


def _cluster(bootstrap: Bootstrap, name: str) -> Cluster:
    return next(c for c in bootstrap.static_resources.clusters if c.name == name)


def _outer_routes(bootstrap: Bootstrap) -> list[Route]:
    manager = _manager(bootstrap.static_resources.listeners[0])
    return manager.route_config.virtual_hosts[0].routes


def test_without_a_retry_policy_there_is_no_failover_machinery() -> None:
    bootstrap = build_bootstrap(config_from(LOCAL_PROVIDERS))
    assert [listener.name for listener in bootstrap.static_resources.listeners] == [
        "egress_traffic"
    ]
    assert FAILOVER_CLUSTER not in {c.name for c in bootstrap.static_resources.clusters}
    assert not bootstrap.bootstrap_extensions
    assert FAILOVER_CLUSTER not in {r.name for r in _outer_routes(bootstrap)}


def test_the_failover_route_retries_only_when_the_attempt_filter_asks() -> None:
    route = next(r for r in _outer_routes(_bootstrap()) if r.name == FAILOVER_CLUSTER)
    header = route.match.headers[0]
    assert (header.name, header.string_match.exact) == (CLUSTER_HEADER, FAILOVER_CLUSTER)
    action = route.route
    assert action.cluster == FAILOVER_CLUSTER
    policy = action.retry_policy
    assert policy.retry_on == "retriable-headers"
    assert [h.name for h in policy.retriable_headers] == [RETRY_HEADER]
    assert policy.num_retries == 1  # the example's largest max_attempts
    assert action.timeout == timedelta(0)
    assert action.idle_timeout == timedelta(0)
    assert RETRY_HEADER in route.response_headers_to_remove
    assert CLUSTER_HEADER in route.request_headers_to_remove


def test_the_failover_cluster_runs_the_attempt_filter_upstream() -> None:
    cluster = _cluster(_bootstrap(), FAILOVER_CLUSTER)
    address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
    assert address.envoy_internal_address.server_listener_name == ATTEMPTS_LISTENER
    options = HttpProtocolOptions().parse(
        cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].value
    )
    ext_proc_filter, codec = options.http_filters
    assert codec.name == "envoy.filters.http.upstream_codec"
    attempt = ExternalProcessor().parse(ext_proc_filter.typed_config.value)
    metadata = {(h.key, h.value) for h in attempt.grpc_service.initial_metadata}
    assert metadata == {(FILTER_KIND_METADATA, ATTEMPT_FILTER_KIND)}
    assert attempt.failure_mode_allow is True
    # The longest wait before a retry (0.9 of the 300 s listener timeout) fits in one message.
    assert attempt.message_timeout > timedelta(seconds=270)
    assert attempt.metadata_options.receiving_namespaces.untyped == ["plano"]


def test_the_attempts_listener_sends_each_attempt_once_and_marks_timeouts() -> None:
    bootstrap = _bootstrap()
    assert [e.name for e in bootstrap.bootstrap_extensions] == ["envoy.bootstrap.internal_listener"]
    inner = next(x for x in bootstrap.static_resources.listeners if x.name == ATTEMPTS_LISTENER)
    assert inner.internal_listener is not None
    manager = _manager(inner)
    routes = manager.route_config.virtual_hosts[0].routes
    provider_routes = [r for r in routes if r.route is not None]
    assert provider_routes
    assert all(r.route.retry_policy is None for r in provider_routes)
    assert {r.route.timeout for r in provider_routes} == {timedelta(seconds=300)}
    marked = [m for m in manager.local_reply_config.mappers if m.headers_to_add]
    assert [h.header.key for m in marked for h in m.headers_to_add] == [UPSTREAM_TIMEOUT_HEADER]
    assert marked[0].status_code == 504


def _attempt_routes(bootstrap: Bootstrap) -> list[Route]:
    inner = next(x for x in bootstrap.static_resources.listeners if x.name == ATTEMPTS_LISTENER)
    return _manager(inner).route_config.virtual_hosts[0].routes


def _attempt_filter(bootstrap: Bootstrap) -> ExternalProcessor:
    options = HttpProtocolOptions().parse(
        _cluster(bootstrap, FAILOVER_CLUSTER)
        .typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS]
        .value
    )
    return ExternalProcessor().parse(options.http_filters[0].typed_config.value)


def _timed(routes: list[Route]) -> dict[str, tuple[str, timedelta]]:
    """Timed route name: (the attempt-timeout header value it matches, its per-try timeout)."""
    return {
        r.name: (r.match.headers[1].string_match.exact, r.route.retry_policy.per_try_timeout)
        for r in routes
        if r.route is not None and r.route.retry_policy is not None
    }


def test_each_attempt_timeout_has_a_timed_route_per_provider() -> None:
    bootstrap = build_bootstrap(config_from(TIMED_PROVIDERS))
    routes = _attempt_routes(bootstrap)
    clusters = [
        r.route.cluster for r in routes if r.route is not None and r.name not in _timed(routes)
    ]
    assert len(clusters) == 3

    assert _timed(routes) == {
        f"{cluster}_attempt_{ms}ms": (ms, timedelta(milliseconds=int(ms)))
        for cluster in clusters
        for ms in ("2500", "30000")
    }
    # Timed routes come before their provider's plain one, which keeps the listener timeout.
    names = [r.name for r in routes]
    first = clusters[0]
    assert names.index(f"{first}_attempt_2500ms") < names.index(f"{first}_attempt_30000ms")
    assert names.index(f"{first}_attempt_30000ms") < names.index(first)
    timed = next(r for r in routes if r.name == f"{first}_attempt_2500ms")
    assert timed.match.headers[0].string_match.exact == first
    assert timed.match.headers[1].name == ATTEMPT_TIMEOUT_HEADER
    assert timed.route.timeout == timedelta(seconds=300)
    assert ATTEMPT_TIMEOUT_HEADER in timed.request_headers_to_remove
    assert not timed.route.retry_policy.num_retries  # the failover route does the retrying
    allowed = _attempt_filter(bootstrap).mutation_rules.allow_expression.regex
    assert re.fullmatch(allowed, ATTEMPT_TIMEOUT_HEADER)


def test_without_on_timeout_attempts_keep_the_listener_timeout() -> None:
    bootstrap = _bootstrap()  # the example's policy has no on_timeout

    assert _timed(_attempt_routes(bootstrap)) == {}
    allowed = _attempt_filter(bootstrap).mutation_rules.allow_expression.regex
    assert not re.fullmatch(allowed, ATTEMPT_TIMEOUT_HEADER)


def test_attempt_timeouts_not_shorter_than_the_listener_timeout_get_no_route() -> None:
    # A 20 s listener timeout ends every attempt before the default 30 s would.
    config = config_from(TIMED_PROVIDERS, listeners=listener(12000, "20s"))

    timed = _timed(_attempt_routes(build_bootstrap(config)))

    assert {value for value, _ in timed.values()} == {"2500"}
