"""HTTP headers the service sets and Envoy's routes read (or the reverse)."""

from __future__ import annotations

from types import MappingProxyType

# Set by the ext_proc on proxied requests (overwriting any client value); routes match on it.
CLUSTER_HEADER = "x-plano-cluster"

# Response headers the route config fills from the decision's metadata keys
# (metadata.METADATA_NAMESPACE).
DECISION_HEADERS = MappingProxyType(
    {
        "x-plano-route": "route",
        "x-plano-model": "model",
        "x-plano-models": "models",
        "x-plano-pinned": "pinned",
        "x-plano-route-fallback": "fallback",
    }
)

# Requests whose upstream speaks another API carry this header (the Translation's value) so
# their route enables the response-translating ext_proc filter; the route strips it upstream.
TRANSLATE_HEADER = "x-plano-translate"
# An untranslated request charged under `ratelimits` carries this header so its route enables
# the usage filter, which reads the answer's usage without holding it; stripped upstream too.
USAGE_HEADER = "x-plano-usage"

# Set by the attempt filter on a failed attempt's response to make Envoy retry it; never
# reaches a client.
RETRY_HEADER = "x-plano-retry"
# Set by the attempt filter on an attempt of a policy with `on_timeout`: the attempt's timeout
# in ms, which selects the attempts listener's route with that `per_try_timeout` (Envoy's own
# x-envoy-upstream-rq-per-try-timeout-ms would be stripped there as an external request's).
ATTEMPT_TIMEOUT_HEADER = "x-plano-attempt-timeout-ms"
# Added by the internal listener to its own timeout reply, so a timed-out attempt is known.
UPSTREAM_TIMEOUT_HEADER = "x-plano-upstream-timeout"
ATTEMPTS_HEADER = "x-plano-attempts"
# Envoy never retries a response that carries it, whatever its status: the attempt filter's
# "no retry" on the failover route, which also retries some statuses by itself.
NO_RETRY_HEADER = "x-envoy-ratelimited"
# Envoy's count of a request's upstream attempts, sent upstream where a route retries on
# statuses by itself (the failover route); the upstream filters tell a first attempt by it.
ATTEMPT_COUNT_HEADER = "x-envoy-attempt-count"

# The authenticated identity (config `auth`): the name of the client's key or token, and its
# team. The routing filter puts them in its view of the request in place of any client-sent
# copy; what selectors, decision spans and the access log read. Never sent to a provider.
IDENTITY_HEADER = "x-plano-identity"
TEAM_HEADER = "x-plano-team"
# The verified JWT's payload (base64url JSON), set by Envoy's jwt_authn only for a token it
# verified; a client-sent copy is removed before jwt_authn runs.
JWT_PAYLOAD_HEADER = "x-plano-jwt-payload"
