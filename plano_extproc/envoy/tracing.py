"""Envoy's OpenTelemetry tracer, for a config with a `tracing` section.

Envoy starts (or continues, from the client's `traceparent`) the trace of every request, traces
its ext_proc calls and the provider call, and exports the spans over OTLP/gRPC to the same
collector as the ext_proc's `plano.routing` span: one trace shows Envoy → ext_proc → provider.
"""

from __future__ import annotations

from envoy_data_plane.envoy.config.cluster import v3 as cluster
from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.config.trace import v3 as trace
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as hcm
from envoy_data_plane.envoy.type.v3 import Percent
from envoy_data_plane.google.protobuf import Any

from plano_extproc.config.model import TracingSettings
from plano_extproc.envoy.clusters import grpc_collector_cluster

OTEL_TRACER = "envoy.tracers.opentelemetry"
COLLECTOR_CLUSTER = "plano_otel_collector"
ENVOY_SERVICE_NAME = "plano-envoy"


def connection_manager_tracing(settings: TracingSettings) -> hcm.HttpConnectionManagerTracing:
    tracer = trace.OpenTelemetryConfig(
        grpc_service=core.GrpcService(
            envoy_grpc=core.GrpcServiceEnvoyGrpc(cluster_name=COLLECTOR_CLUSTER)
        ),
        service_name=ENVOY_SERVICE_NAME,
    )
    return hcm.HttpConnectionManagerTracing(
        random_sampling=Percent(value=settings.sampling_percent),
        # Spans name the request's route and carry its upstream cluster.
        spawn_upstream_span=True,
        provider=trace.TracingHttp(name=OTEL_TRACER, typed_config=Any.pack(tracer)),
    )


def collector_cluster(settings: TracingSettings, ca_bundle: str) -> cluster.Cluster:
    return grpc_collector_cluster(COLLECTOR_CLUSTER, settings.endpoint, ca_bundle)
