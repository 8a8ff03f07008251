"""The Envoy side of failover (`retry_policy`), present only when a provider has one.

A request with a policy is routed to the failover cluster, and Envoy retries it there. Each
attempt passes that cluster's upstream filter, the attempt filter (an ext_proc), which rewrites
it for its model and sets the cluster header. The cluster's one endpoint is an internal
listener (in-process, no socket) whose routes send the attempt to that provider. So every
attempt may go to a different provider, chosen by the service when the attempt starts, not
fixed when Envoy's config was written. docs/failover-design.md explains the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from envoy_data_plane.envoy.config.cluster import v3 as cluster
from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.config.endpoint import v3 as endpoint
from envoy_data_plane.envoy.config.listener import v3 as listener
from envoy_data_plane.envoy.extensions.bootstrap.internal_listener import v3 as internal_listener
from envoy_data_plane.envoy.extensions.filters.http.ext_proc import v3 as ext_proc
from envoy_data_plane.envoy.extensions.filters.http.upstream_codec import v3 as upstream_codec
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as hcm
from envoy_data_plane.envoy.extensions.upstreams.http import v3 as http
from envoy_data_plane.google.protobuf import Any

from plano_extproc.config.model import Config
from plano_extproc.config.upstreams import Upstream
from plano_extproc.contract.clusters import ATTEMPTS_LISTENER, EXTPROC_FILTER, FAILOVER_CLUSTER
from plano_extproc.contract.headers import (
    ATTEMPT_TIMEOUT_HEADER,
    ATTEMPTS_HEADER,
    NO_RETRY_HEADER,
    RETRY_HEADER,
)
from plano_extproc.contract.metadata import (
    ATTEMPT_FILTER_KIND,
    FILTER_KIND_METADATA,
    METADATA_NAMESPACE,
)
from plano_extproc.envoy.clusters import HTTP_PROTOCOL_OPTIONS, circuit_breakers
from plano_extproc.envoy.filters import (
    HCM_FILTER,
    PROVIDER_REQUEST_HEADERS,
    BodyMode,
    grpc_service,
    mutation_rules_for,
    processing_mode,
    router_filter,
    typed_filter,
)
from plano_extproc.envoy.first_attempt import first_attempt_filters
from plano_extproc.envoy.replies import local_reply_config
from plano_extproc.envoy.routes import attempt_route_config
from plano_extproc.failover.first_attempt import envoy_retried_statuses
from plano_extproc.failover.policy import attempt_timeout_ms, max_delay_seconds, max_retries

INTERNAL_LISTENER_EXTENSION = "envoy.bootstrap.internal_listener"
UPSTREAM_CODEC_FILTER = "envoy.filters.http.upstream_codec"
ATTEMPT_STAT_PREFIX = "plano_attempt"
# Beyond the longest wait before a retry, which the filter spends inside one message.
ATTEMPT_MESSAGE_MARGIN = timedelta(seconds=5)
ATTEMPT_RESPONSE_HEADERS = (
    "content-type",
    "content-length",
    "retry-after",
    RETRY_HEADER,
    ATTEMPTS_HEADER,
    NO_RETRY_HEADER,
)


def has_failover(config: Config) -> bool:
    return any(p.retry_policy is not None for p in config.providers)


def failover_retries(config: Config) -> int | None:
    """Envoy's retry cap for the failover route; None without any `retry_policy`."""
    policies = [p.retry_policy for p in config.providers if p.retry_policy is not None]
    return max_retries(policies) if policies else None


def envoy_retried(config: Config) -> frozenset[int]:
    """The statuses the failover route retries by itself (failover/first_attempt.py)."""
    return envoy_retried_statuses(p.retry_policy for p in config.providers if p.retry_policy)


def attempt_timeouts(config: Config) -> tuple[timedelta, ...]:
    """The distinct attempt timeouts of the policies with `on_timeout` (those shorter than the
    listener timeout), each one a timed route per provider on the attempts listener."""
    listener_timeout_s = config.listeners[0].timeout_seconds
    timeouts = {
        attempt_timeout_ms(p.retry_policy, listener_timeout_s)
        for p in config.providers
        if p.retry_policy is not None
    }
    return tuple(timedelta(milliseconds=ms) for ms in sorted(t for t in timeouts if t))


def internal_listener_extension() -> core.TypedExtensionConfig:
    config = Any.pack(internal_listener.InternalListener())
    return core.TypedExtensionConfig(name=INTERNAL_LISTENER_EXTENSION, typed_config=config)


def _attempt_ext_proc(config: Config) -> ext_proc.ExternalProcessor:
    # The request headers are only acknowledged (sending them is what makes Envoy hold them
    # until the body's rewrite); the response body is only read when it must be translated,
    # replaced or timed (mode_override).
    mode = processing_mode(BodyMode.BUFFERED, BodyMode.STREAMED)
    namespaces = ext_proc.MetadataOptionsMetadataNamespaces(untyped=[METADATA_NAMESPACE])
    provider_headers = {name.lower() for p in config.providers for name in p.headers}
    # It picks the attempts listener's route with the attempt's timeout.
    timeout_header = [ATTEMPT_TIMEOUT_HEADER] if attempt_timeouts(config) else []
    longest_wait = timedelta(seconds=max_delay_seconds(config.listeners[0].timeout_seconds))
    return ext_proc.ExternalProcessor(
        grpc_service=grpc_service([(FILTER_KIND_METADATA, ATTEMPT_FILTER_KIND)]),
        processing_mode=mode,
        message_timeout=longest_wait + ATTEMPT_MESSAGE_MARGIN,
        # Open: once an attempt is rewritten, its answer needs the service only to be
        # translated, so a restart must not fail it. An attempt the service could not rewrite
        # has no cluster header and gets the attempts listener's 503; it never reaches a
        # provider.
        failure_mode_allow=True,
        metadata_options=ext_proc.MetadataOptions(
            forwarding_namespaces=namespaces, receiving_namespaces=namespaces
        ),
        mutation_rules=mutation_rules_for(
            {
                *PROVIDER_REQUEST_HEADERS,
                *ATTEMPT_RESPONSE_HEADERS,
                *provider_headers,
                *timeout_header,
            }
        ),
        allow_mode_override=True,
        stat_prefix=ATTEMPT_STAT_PREFIX,
    )


def failover_cluster(config: Config) -> cluster.Cluster:
    """The cluster Envoy retries on: one internal endpoint, the attempt filter upstream."""
    address = core.Address(
        envoy_internal_address=core.EnvoyInternalAddress(server_listener_name=ATTEMPTS_LISTENER)
    )
    assignment = endpoint.ClusterLoadAssignment(
        cluster_name=FAILOVER_CLUSTER,
        endpoints=[
            endpoint.LocalityLbEndpoints(
                lb_endpoints=[endpoint.LbEndpoint(endpoint=endpoint.Endpoint(address=address))]
            )
        ],
    )
    http1 = http.HttpProtocolOptionsExplicitHttpConfig(
        http_protocol_options=core.Http1ProtocolOptions()
    )
    options = http.HttpProtocolOptions(
        explicit_http_config=http1,
        http_filters=[*_attempt_filters(config), _codec_filter()],
    )
    return cluster.Cluster(
        name=FAILOVER_CLUSTER,
        type=cluster.ClusterDiscoveryType.STATIC,
        load_assignment=assignment,
        typed_extension_protocol_options={HTTP_PROTOCOL_OPTIONS: Any.pack(options)},
        circuit_breakers=circuit_breakers(),
    )


def _attempt_filters(config: Config) -> list[hcm.HttpFilter]:
    attempt = typed_filter(EXTPROC_FILTER, _attempt_ext_proc(config))
    return first_attempt_filters(attempt) if envoy_retried(config) else [attempt]


def _codec_filter() -> hcm.HttpFilter:
    return typed_filter(UPSTREAM_CODEC_FILTER, upstream_codec.UpstreamCodec())


def attempts_listener(
    upstreams: Sequence[Upstream],
    timeout: timedelta,
    max_request_bytes: int,
    attempt_timeouts: Sequence[timedelta] = (),
) -> listener.Listener:
    """Takes each rewritten attempt to its provider, once, within the listener timeout (or the
    attempt timeout it names); a timeout reply is marked so that the attempt filter can tell it
    from a provider's 504."""
    manager = hcm.HttpConnectionManager(
        stat_prefix=ATTEMPTS_LISTENER,
        codec_type=hcm.HttpConnectionManagerCodecType.AUTO,
        # The request id and addresses are the client listener's; keep them as they are.
        preserve_external_request_id=True,
        skip_xff_append=True,
        stream_idle_timeout=timeout,
        route_config=attempt_route_config(upstreams, timeout, attempt_timeouts),
        http_filters=[router_filter()],
        local_reply_config=local_reply_config(max_request_bytes, mark_timeouts=True),
    )
    chain = listener.FilterChain(
        filters=[listener.Filter(name=HCM_FILTER, typed_config=Any.pack(manager))]
    )
    return listener.Listener(
        name=ATTEMPTS_LISTENER,
        internal_listener=listener.ListenerInternalListenerConfig(),
        filter_chains=[chain],
    )


def bootstrap_extensions(config: Config) -> list[core.TypedExtensionConfig]:
    return [internal_listener_extension()] if has_failover(config) else []
