"""Names shared by the generated Envoy config and the ext_proc service.

Both sides import these, so a rename can never leave them disagreeing.
"""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from plano_extproc.api.conversation import ClientApi

EXTPROC_CLUSTER = "plano_extproc"
EXTPROC_FILTER = "envoy.filters.http.ext_proc"
# The gRPC health service Envoy checks on each ext_proc worker (the service reports it too).
EXTPROC_HEALTH_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor"

# Set by the ext_proc on proxied requests (overwriting any client value); routes match on it.
CLUSTER_HEADER = "x-plano-cluster"

# Dynamic metadata namespace the ext_proc writes its decision into; the route config copies the
# keys into response headers and the access log reads them.
METADATA_NAMESPACE = "plano"
DECISION_HEADERS = MappingProxyType(
    {
        "x-plano-route": "route",
        "x-plano-model": "model",
        "x-plano-models": "models",
        "x-plano-pinned": "pinned",
        "x-plano-route-fallback": "fallback",
    }
)

DECISION_PATHS = MappingProxyType(
    {
        "/routing/v1/chat/completions": ClientApi.CHAT,
        "/routing/v1/messages": ClientApi.MESSAGES,
        "/routing/v1/responses": ClientApi.RESPONSES,
    }
)
PROXY_PATHS = MappingProxyType(
    {
        "/v1/chat/completions": ClientApi.CHAT,
        "/v1/messages": ClientApi.MESSAGES,
        "/v1/responses": ClientApi.RESPONSES,
    }
)
MODELS_PATH = "/v1/models"
# The gRPC decision API (proto/plano/routing/v1/routing.proto), served by the ext_proc workers
# on their own port; Envoy routes its calls there too.
ROUTING_GRPC_SERVICE = "plano.routing.v1.RoutingService"
HEALTH_PATH = "/healthz"


# How long the routing filter waits for the service's answer to a large body (it asks Envoy
# for this much, within the max_message_timeout the config allows).
LARGE_BODY_MESSAGE_TIMEOUT = timedelta(seconds=30)

# Requests whose upstream speaks another API carry this header (the Translation's value) so
# their route enables the response-translating ext_proc filter; the route strips it upstream.
TRANSLATE_HEADER = "x-plano-translate"
TRANSLATE_FILTER = "plano.translate"
# Metadata keys (namespace METADATA_NAMESPACE) the translating filter forwards back to us.
TRANSLATION_KEY = "translate"
STREAM_KEY = "stream"
INCLUDE_USAGE_KEY = "include_usage"
# The key under which a Responses request's input items wait for its answer (state_storage).
STATE_KEY = "state"

# Failover (`retry_policy`). The routing filter sends such a request to this cluster, whose
# upstream filter (the attempt filter) rewrites every attempt Envoy makes for its model; the
# attempts then reach the providers through this internal listener, which routes on the
# cluster header the attempt set.
FAILOVER_CLUSTER = "plano_failover"
ATTEMPTS_LISTENER = "plano_attempts"
# The attempt filter's gRPC streams carry this metadata, so the service knows them apart.
FILTER_KIND_METADATA = "x-plano-filter"
ATTEMPT_FILTER_KIND = "attempt"
# Set by the attempt filter on a failed attempt's response to make Envoy retry it; never
# reaches a client.
RETRY_HEADER = "x-plano-retry"
# Added by the internal listener to its own timeout reply, so a timed-out attempt is known.
UPSTREAM_TIMEOUT_HEADER = "x-plano-upstream-timeout"
ATTEMPTS_HEADER = "x-plano-attempts"
# Metadata keys: the request's candidates and policy (routing filter), every attempt so far and
# where the next one goes (attempt filter).
FAILOVER_KEY = "failover"
ATTEMPTS_KEY = "attempts"
NEXT_KEY = "next"
