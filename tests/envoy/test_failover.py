"""The Envoy side of failover: present exactly when a provider has a `retry_policy`, and wired
so that Envoy retries only when the attempt filter asks."""

from __future__ import annotations

import re
from datetime import timedelta

from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
from envoy_data_plane.envoy.config.cluster.v3 import Cluster
from envoy_data_plane.envoy.config.route.v3 import Route
from envoy_data_plane.envoy.extensions.common.matching.v3 import ExtensionWithMatcher
from envoy_data_plane.envoy.extensions.filters.http.ext_proc.v3 import ExternalProcessor
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import HttpProtocolOptions

from plano_extproc.contract.clusters import ATTEMPTS_LISTENER, EXTPROC_FILTER, FAILOVER_CLUSTER
from plano_extproc.contract.headers import (
    ATTEMPT_COUNT_HEADER,
    ATTEMPT_TIMEOUT_HEADER,
    CLUSTER_HEADER,
    NO_RETRY_HEADER,
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


def test_the_failover_route_retries_when_the_attempt_filter_asks_or_on_the_policy_statuses() -> (
    None
):
    route = next(r for r in _outer_routes(_bootstrap()) if r.name == FAILOVER_CLUSTER)
    header = route.match.headers[0]
    assert (header.name, header.string_match.exact) == (CLUSTER_HEADER, FAILOVER_CLUSTER)
    action = route.route
    assert action.cluster == FAILOVER_CLUSTER
    policy = action.retry_policy
    assert policy.retry_on == "retriable-headers,retriable-status-codes"
    # The example's policy retries every first failure it names, and the default statuses.
    assert policy.retriable_status_codes == [429, 500, 502, 503, 504]
    assert [h.name for h in policy.retriable_headers] == [RETRY_HEADER]
    assert policy.num_retries == 1  # the example's largest max_attempts
    assert action.timeout == timedelta(0)
    assert action.idle_timeout == timedelta(0)
    assert {RETRY_HEADER, NO_RETRY_HEADER} <= set(route.response_headers_to_remove)
    assert CLUSTER_HEADER in route.request_headers_to_remove
    # The first model's cluster comes back from the metadata, after the client's is removed.
    added = {h.header.key: h.header.value for h in route.request_headers_to_add}
    assert added[CLUSTER_HEADER] == "%DYNAMIC_METADATA(plano:first_cluster)%"
    host = _manager(_bootstrap().static_resources.listeners[0]).route_config.virtual_hosts[0]
    assert host.include_request_attempt_count is True


def test_a_policy_envoy_cannot_judge_leaves_every_attempt_to_the_filter() -> None:
    # A 429 first failure that ends the request must become `retry_exhausted`: filter work.
    never = "  - model: openai/gpt-4o\n    retry_policy: {default_max_attempts: 0}\n"
    bootstrap = build_bootstrap(config_from(never))
    route = next(r for r in _outer_routes(bootstrap) if r.name == FAILOVER_CLUSTER)
    assert route.route.retry_policy.retry_on == "retriable-headers"
    assert not route.request_headers_to_add
    names = [f.name for f in _upstream_filters(bootstrap)]
    assert names == [EXTPROC_FILTER, "envoy.filters.http.upstream_codec"]


def test_the_failover_cluster_runs_the_attempt_filter_upstream() -> None:
    cluster = _cluster(_bootstrap(), FAILOVER_CLUSTER)
    address = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
    assert address.envoy_internal_address.server_listener_name == ATTEMPTS_LISTENER
    options = HttpProtocolOptions().parse(
        cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].value
    )
    ext_proc_filter, recorder, codec = options.http_filters
    assert codec.name == "envoy.filters.http.upstream_codec"
    # Both skip by the same matcher: the attempt filter a rewritten first attempt, the
    # recorder every other attempt.
    skipped = ExtensionWithMatcher().parse(ext_proc_filter.typed_config.value)
    recording = ExtensionWithMatcher().parse(recorder.typed_config.value)
    predicate = skipped.xds_matcher.matcher_list.matchers[0].predicate
    assert recording.xds_matcher.matcher_list.matchers[0].predicate.not_matcher == predicate
    inputs = [p.single_predicate.input.name for p in predicate.and_matcher.predicate]
    assert inputs == [ATTEMPT_COUNT_HEADER, CLUSTER_HEADER]
    assert recording.extension_config.name == "envoy.filters.http.lua"
    attempt = _attempt_filter(_bootstrap())
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


def _upstream_filters(bootstrap: Bootstrap) -> list[HttpFilter]:
    options = HttpProtocolOptions().parse(
        _cluster(bootstrap, FAILOVER_CLUSTER)
        .typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS]
        .value
    )
    return options.http_filters


def _attempt_filter(bootstrap: Bootstrap) -> ExternalProcessor:
    typed = _upstream_filters(bootstrap)[0].typed_config
    if typed.type_url.endswith("ExtensionWithMatcher"):
        typed = ExtensionWithMatcher().parse(typed.value).extension_config.typed_config
    return ExternalProcessor().parse(typed.value)


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
