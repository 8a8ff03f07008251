"""Building blocks shared by the listeners: typed filters, ext_proc filters' gRPC service and
header-mutation rules."""

from __future__ import annotations

import re
from collections.abc import Iterable

import betterproto2
from envoy_data_plane.envoy.config.common.mutation_rules import v3 as mutation_rules
from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.extensions.filters.http.ext_proc import v3 as ext_proc
from envoy_data_plane.envoy.extensions.filters.http.router import v3 as router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as hcm
from envoy_data_plane.envoy.type.matcher import v3 as matcher
from envoy_data_plane.google.protobuf import Any

from plano_extproc.contract.clusters import EXTPROC_CLUSTER
from plano_extproc.contract.headers import CLUSTER_HEADER

ROUTER_FILTER = "envoy.filters.http.router"
BUFFER_FILTER = "envoy.filters.http.buffer"
# What rewriting a request for its provider sets or removes (provider `headers` come on top).
PROVIDER_REQUEST_HEADERS = (
    ":path",
    "content-length",
    "authorization",
    "x-api-key",
    "anthropic-version",
    CLUSTER_HEADER,
)
HCM_FILTER = "envoy.filters.network.http_connection_manager"


def typed_filter(name: str, config: betterproto2.Message) -> hcm.HttpFilter:
    return hcm.HttpFilter(name=name, typed_config=Any.pack(config))


def mutation_rules_for(
    names: Iterable[str], *, any_header: bool = False
) -> mutation_rules.HeaderMutationRules:
    """Request and response header mutations alike may touch only `names`; with `any_header`,
    also every ordinary header (the routing filter removes whatever a provider must not see),
    but still no other pseudo-header and no x-envoy-* one."""
    listed = [re.escape(name) for name in sorted(names)]
    allowed = "|".join([*listed, "[^:][^:]*"] if any_header else listed)
    # An allow_expression would let these through; Envoy's and the routing ones stay out.
    never = matcher.RegexMatcher(regex="^(host|x-envoy-.*)$") if any_header else None
    # Only the listed headers; a mutation outside them fails the request instead of being
    # silently dropped, so a forwarded request is never half-rewritten.
    return mutation_rules.HeaderMutationRules(
        disallow_all=True,
        allow_expression=matcher.RegexMatcher(regex=f"^({allowed})$"),
        disallow_expression=never,
        disallow_is_error=True,
    )


def grpc_service(initial_metadata: Iterable[tuple[str, str]] = ()) -> core.GrpcService:
    """The ext_proc workers; `initial_metadata` tells the service which filter a stream is from."""
    return core.GrpcService(
        envoy_grpc=core.GrpcServiceEnvoyGrpc(cluster_name=EXTPROC_CLUSTER),
        initial_metadata=[core.HeaderValue(key=k, value=v) for k, v in initial_metadata],
    )


def router_filter() -> hcm.HttpFilter:
    # Providers are third parties: they need none of Envoy's internal x-envoy-* headers.
    return typed_filter(ROUTER_FILTER, router.Router(suppress_envoy_headers=True))


BodyMode = ext_proc.ProcessingModeBodySendMode


def processing_mode(request_body: BodyMode, response_body: BodyMode) -> ext_proc.ProcessingMode:
    """Headers are sent on each side that has a body mode other than NONE; trailers never."""
    send, skip = (
        ext_proc.ProcessingModeHeaderSendMode.SEND,
        ext_proc.ProcessingModeHeaderSendMode.SKIP,
    )
    return ext_proc.ProcessingMode(
        request_header_mode=skip if request_body is BodyMode.NONE else send,
        request_body_mode=request_body,
        request_trailer_mode=skip,
        response_header_mode=skip if response_body is BodyMode.NONE else send,
        response_body_mode=response_body,
        response_trailer_mode=skip,
    )
