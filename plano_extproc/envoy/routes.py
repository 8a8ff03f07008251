"""The route table: health check, three routes per provider cluster, then a JSON 404.

A proxied request reaches a provider route only through the cluster header, which the ext_proc
sets (overwriting any client value) after it has read the body; the ext_proc answers everything
else itself with an ImmediateResponse. A request translated into the provider's API also carries
the translate header, and its route enables the filter that translates the response back; an
untranslated one charged under `ratelimits` carries the usage header, and its route enables the
filter that reads the answer's usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta

from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.config.route import v3 as route
from envoy_data_plane.envoy.extensions.filters.http.ext_proc import v3 as ext_proc
from envoy_data_plane.envoy.type.matcher import v3 as matcher
from envoy_data_plane.google.protobuf import Any

from plano_extproc.config.upstreams import Upstream
from plano_extproc.contract.clusters import (
    ATTEMPTS_LISTENER,
    EXTPROC_CLUSTER,
    EXTPROC_FILTER,
    FAILOVER_CLUSTER,
    ROUTING_GRPC_SERVICE,
    TRANSLATE_FILTER,
    USAGE_FILTER,
)
from plano_extproc.contract.headers import (
    ATTEMPT_COUNT_HEADER,
    ATTEMPT_TIMEOUT_HEADER,
    CLUSTER_HEADER,
    DECISION_HEADERS,
    NO_RETRY_HEADER,
    RETRY_HEADER,
    TRANSLATE_HEADER,
    USAGE_HEADER,
)
from plano_extproc.contract.metadata import METADATA_NAMESPACE
from plano_extproc.contract.paths import HEALTH_PATH
from plano_extproc.envoy.first_attempt import first_attempt_request_headers
from plano_extproc.envoy.replies import json_error_body

ROUTE_CONFIG_NAME = "plano"
# A listener's `max_retries`, as Plano applies it: the same provider again on a rate limit, a
# server error or a broken connection, each try bounded by the listener timeout, with back-off.
RETRIABLE_STATUS_CODES = (429, 500, 502, 503, 504)
RETRY_ON = "5xx,connect-failure,refused-stream,reset,retriable-status-codes"
RETRY_BACK_OFF = route.RetryPolicyRetryBackOff(
    base_interval=timedelta(milliseconds=500), max_interval=timedelta(seconds=5)
)
# A decision call is bounded by the classifier's deadline well within this.
DECISION_API_TIMEOUT = timedelta(seconds=30)
# Envoy requires a positive back-off; the attempt filter does the real waiting.
MINIMAL_BACK_OFF = timedelta(milliseconds=1)
TRANSLATED_SUFFIX = "_translated"
OBSERVED_SUFFIX = "_usage"
# Never sent to providers: our routing headers, and the client's address (Envoy records it
# because the listener uses the remote address).
ROUTING_HEADERS = (
    CLUSTER_HEADER,
    TRANSLATE_HEADER,
    USAGE_HEADER,
    ATTEMPT_TIMEOUT_HEADER,
    "x-envoy-external-address",
    "x-forwarded-for",
)
# Envoy adds its attempt count to every upstream request once the failover route retries on
# statuses (the count is per virtual host); a provider route removes it from a first attempt.
PROVIDER_REMOVED_HEADERS = (*ROUTING_HEADERS, ATTEMPT_COUNT_HEADER)


def _health_route() -> route.Route:
    no_ext_proc = ext_proc.ExtProcPerRoute(disabled=True)
    return route.Route(
        name="health",
        match=route.RouteMatch(path=HEALTH_PATH),
        direct_response=route.DirectResponseAction(
            status=200, body=core.DataSource(inline_string="ok")
        ),
        typed_per_filter_config={EXTPROC_FILTER: Any.pack(no_ext_proc)},
    )


def _decision_api_route() -> route.Route:
    """gRPC calls of the decision API go to the ext_proc workers, which serve it beside the
    ext_proc service (the routing filter stays out of them)."""
    return route.Route(
        name="decision_api",
        match=route.RouteMatch(
            prefix=f"/{ROUTING_GRPC_SERVICE}/",
            grpc=route.RouteMatchGrpcRouteMatchOptions(),
        ),
        route=route.RouteAction(cluster=EXTPROC_CLUSTER, timeout=DECISION_API_TIMEOUT),
        typed_per_filter_config={EXTPROC_FILTER: Any.pack(ext_proc.ExtProcPerRoute(disabled=True))},
    )


def _connect_route() -> route.Route:
    """CONNECT (a tunnel request, never one of ours) is refused at once. Without a route for
    it, the buffer filter would wait for a body that never ends; with one, Envoy refuses it
    itself (403, CONNECT is not an enabled upgrade), before any filter."""
    body = json_error_body("Forbidden", "CONNECT is not supported", "method_not_allowed")
    return route.Route(
        name="connect",
        match=route.RouteMatch(connect_matcher=route.RouteMatchConnectMatcher()),
        direct_response=route.DirectResponseAction(status=403, body_format=body),
    )


def _retry_policy(retries: int, timeout: timedelta) -> route.RetryPolicy | None:
    """None without `max_retries`: then exactly one upstream request is made, as in Plano."""
    if retries <= 0:
        return None
    return route.RetryPolicy(
        retry_on=RETRY_ON,
        num_retries=retries,
        per_try_timeout=timeout,
        retriable_status_codes=list(RETRIABLE_STATUS_CODES),
        retry_back_off=RETRY_BACK_OFF,
    )


def _decision_headers() -> list[core.HeaderValueOption]:
    # keep_empty_value stays false: a key the ext_proc did not write adds no header at all.
    return [
        core.HeaderValueOption(
            header=core.HeaderValue(
                key=header, value=f"%DYNAMIC_METADATA({METADATA_NAMESPACE}:{key})%"
            ),
            append_action=core.HeaderValueOptionHeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
        )
        for header, key in DECISION_HEADERS.items()
    ]


def _cluster_is(upstream: Upstream) -> route.HeaderMatcher:
    return route.HeaderMatcher(
        name=CLUSTER_HEADER, string_match=matcher.StringMatcher(exact=upstream.cluster)
    )


def _provider_route(upstream: Upstream, timeout: timedelta, retries: int) -> route.Route:
    return route.Route(
        name=upstream.cluster,
        match=route.RouteMatch(prefix="/", headers=[_cluster_is(upstream)]),
        route=route.RouteAction(
            cluster=upstream.cluster,
            host_rewrite_literal=upstream.authority,
            timeout=timeout,
            retry_policy=_retry_policy(retries, timeout),
        ),
        request_headers_to_remove=list(PROVIDER_REMOVED_HEADERS),
        response_headers_to_add=_decision_headers(),
    )


def _with_filter(base: route.Route, header: str, response_filter: str, suffix: str) -> route.Route:
    """`base` for the requests that also carry `header`, with `response_filter` switched back
    on; it must come before `base`, whose requests it is a subset of."""
    assert base.match is not None
    carried = route.HeaderMatcher(name=header, present_match=True)
    # A per-route config that does not disable the filter overrides the virtual host's.
    enabled = ext_proc.ExtProcPerRoute(overrides=ext_proc.ExtProcOverrides())
    return replace(
        base,
        name=base.name + suffix,
        match=replace(base.match, headers=[*base.match.headers, carried]),
        typed_per_filter_config={response_filter: Any.pack(enabled)},
    )


def _response_variants(base: route.Route) -> list[route.Route]:
    """`base` with the translating filter on (a translated request), with the usage filter
    on (an untranslated request charged under `ratelimits`), then as it is."""
    return [
        _with_filter(base, TRANSLATE_HEADER, TRANSLATE_FILTER, TRANSLATED_SUFFIX),
        _with_filter(base, USAGE_HEADER, USAGE_FILTER, OBSERVED_SUFFIX),
        base,
    ]


def _unrouted() -> route.Route:
    body = json_error_body("NotFound", "no provider was selected for this request", "no_route")
    return route.Route(
        name="unrouted",
        match=route.RouteMatch(prefix="/"),
        direct_response=route.DirectResponseAction(status=404, body_format=body),
    )


def _failover_route(retries: int, envoy_retried: frozenset[int]) -> route.Route:
    """Requests with a `retry_policy`: Envoy retries an attempt whenever the attempt filter
    marks its response, up to `retries` times; the filter decides where each attempt goes and
    waits out any backoff, so Envoy's own back-off is the smallest it allows. A first attempt
    Envoy judges alone (envoy/first_attempt.py) is retried on `envoy_retried` statuses."""
    retry_on = "retriable-headers,retriable-status-codes" if envoy_retried else "retriable-headers"
    retry_policy = route.RetryPolicy(
        retry_on=retry_on,
        num_retries=max(retries, 1),
        retriable_status_codes=sorted(envoy_retried),
        retriable_headers=[route.HeaderMatcher(name=RETRY_HEADER, present_match=True)],
        retry_back_off=route.RetryPolicyRetryBackOff(
            base_interval=MINIMAL_BACK_OFF, max_interval=MINIMAL_BACK_OFF
        ),
    )
    return route.Route(
        name=FAILOVER_CLUSTER,
        match=route.RouteMatch(
            prefix="/",
            headers=[
                route.HeaderMatcher(
                    name=CLUSTER_HEADER, string_match=matcher.StringMatcher(exact=FAILOVER_CLUSTER)
                )
            ],
        ),
        # Neither an overall nor an idle timeout here: each attempt has the listener's, on the
        # attempts listener, and a retry may follow a silent attempt that used all of it.
        route=route.RouteAction(
            cluster=FAILOVER_CLUSTER,
            timeout=timedelta(0),
            idle_timeout=timedelta(0),
            retry_policy=retry_policy,
        ),
        request_headers_to_remove=list(ROUTING_HEADERS),
        request_headers_to_add=first_attempt_request_headers() if envoy_retried else [],
        response_headers_to_add=_decision_headers(),
        response_headers_to_remove=[RETRY_HEADER, NO_RETRY_HEADER],
    )


def _timed_attempt_route(
    upstream: Upstream, timeout: timedelta, attempt_timeout: timedelta
) -> route.Route:
    """An attempt under `on_timeout` whose header names `attempt_timeout`: Envoy ends it then
    unless the provider's response has begun (a per-try timeout stops counting once response
    headers are on their way), with the same marked timeout reply as the listener timeout's.
    The attempt is still made once: the attempt filter asks the failover route for any retry."""
    ms = str(attempt_timeout // timedelta(milliseconds=1))
    plain = _provider_route(upstream, timeout, 0)
    timed = route.HeaderMatcher(
        name=ATTEMPT_TIMEOUT_HEADER, string_match=matcher.StringMatcher(exact=ms)
    )
    return replace(
        plain,
        name=f"{upstream.cluster}_attempt_{ms}ms",
        match=route.RouteMatch(prefix="/", headers=[_cluster_is(upstream), timed]),
        route=replace(plain.route, retry_policy=route.RetryPolicy(per_try_timeout=attempt_timeout)),
    )


def _attempt_routes(
    upstream: Upstream, timeout: timedelta, attempt_timeouts: Sequence[timedelta]
) -> list[route.Route]:
    # The timed routes first: each matches a subset of the plain route's attempts.
    timed = [_timed_attempt_route(upstream, timeout, t) for t in attempt_timeouts]
    # A provider's own x-envoy-ratelimited would stop the failover route retrying its answer.
    return [
        replace(r, response_headers_to_remove=[NO_RETRY_HEADER])
        for r in (*timed, _provider_route(upstream, timeout, 0))
    ]


def attempt_route_config(
    upstreams: Iterable[Upstream],
    timeout: timedelta,
    attempt_timeouts: Sequence[timedelta] = (),
) -> route.RouteConfiguration:
    """The attempts listener's routes: each attempt to its provider, once, within `timeout`, or
    within one of `attempt_timeouts` when its header names it (any other value gets `timeout`);
    an attempt the attempt filter did not rewrite gets a 503."""
    routes = [
        *(r for u in upstreams for r in _attempt_routes(u, timeout, attempt_timeouts)),
        _not_rewritten(),
    ]
    host = route.VirtualHost(name=ATTEMPTS_LISTENER, domains=["*"], routes=routes)
    return route.RouteConfiguration(name=ATTEMPTS_LISTENER, virtual_hosts=[host])


def _not_rewritten() -> route.Route:
    message = "the routing service did not prepare this attempt"
    body = json_error_body("RoutingUnavailable", message, "attempt_not_rewritten")
    return route.Route(
        name="not_rewritten",
        match=route.RouteMatch(prefix="/"),
        direct_response=route.DirectResponseAction(status=503, body_format=body),
    )


def route_config(
    upstreams: Iterable[Upstream],
    timeout: timedelta,
    retries: int = 0,
    failover_retries: int | None = None,
    envoy_retried: frozenset[int] = frozenset(),
) -> route.RouteConfiguration:
    """`retries`: the listener's `max_retries`; `failover_retries`: the most any `retry_policy`
    allows (None when no provider has one); `envoy_retried`: the statuses the failover route
    retries by itself (failover/first_attempt.py)."""
    provider_routes = [
        r
        for upstream in upstreams
        for r in _response_variants(_provider_route(upstream, timeout, retries))
    ]
    # The failover route's answers are already in the client's API (the attempt filter
    # translates them): only the usage filter can be on there.
    failover = []
    if failover_retries is not None:
        base = _failover_route(failover_retries, envoy_retried)
        failover = [_with_filter(base, USAGE_HEADER, USAGE_FILTER, OBSERVED_SUFFIX), base]
    routes = [
        _health_route(),
        _connect_route(),
        _decision_api_route(),
        *failover,
        *provider_routes,
        _unrouted(),
    ]
    # Off by default here rather than `disabled` in the HCM: Envoy builds the filter chain from
    # the route the client's own headers select, before the routing ext_proc sets them, so a
    # route could never enable it. The ext_proc filter reads this config when the request
    # reaches it (after routing), or when a local reply does.
    off = Any.pack(ext_proc.ExtProcPerRoute(disabled=True))
    host = route.VirtualHost(
        name="plano",
        domains=["*"],
        routes=routes,
        typed_per_filter_config={TRANSLATE_FILTER: off, USAGE_FILTER: off},
        # The failover cluster's upstream filters tell a first attempt by the count.
        include_request_attempt_count=bool(envoy_retried),
    )
    return route.RouteConfiguration(name=ROUTE_CONFIG_NAME, virtual_hosts=[host])
