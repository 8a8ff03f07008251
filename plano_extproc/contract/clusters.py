"""Envoy's clusters, listeners, filters and gRPC services that the service is part of."""

from __future__ import annotations

from datetime import timedelta

EXTPROC_CLUSTER = "plano_extproc"
EXTPROC_FILTER = "envoy.filters.http.ext_proc"
# The gRPC health service Envoy checks on each ext_proc worker (the service reports it too).
EXTPROC_HEALTH_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"
# The gRPC decision API (proto/plano/routing/v1/routing.proto), served by the ext_proc workers
# on their own port; Envoy routes its calls there too.
ROUTING_GRPC_SERVICE = "plano.routing.v1.RoutingService"

# How long the routing filter waits for the service's answer to a large body (it asks Envoy
# for this much, within the max_message_timeout the config allows).
LARGE_BODY_MESSAGE_TIMEOUT = timedelta(seconds=30)

# The response-translating ext_proc filter, enabled per route (see headers.TRANSLATE_HEADER).
TRANSLATE_FILTER = "plano.translate"
# The usage-reading ext_proc filter (Envoy's observability mode), enabled per route (see
# headers.USAGE_HEADER).
USAGE_FILTER = "plano.usage"

# Failover (`retry_policy`). The routing filter sends such a request to this cluster, whose
# upstream filter (the attempt filter) rewrites every attempt Envoy makes for its model; the
# attempts then reach the providers through this internal listener, which routes on the
# cluster header the attempt set.
FAILOVER_CLUSTER = "plano_failover"
ATTEMPTS_LISTENER = "plano_attempts"
