"""Process-wide Prometheus counters and gauges. Names are the public contract of /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ROUTING_DECISIONS = Counter(
    "plano_routing_decisions_total",
    "Routing decisions by outcome (routed, no_route, pinned, fallback)",
    ["outcome"],
)
CLASSIFIER_FAILURES = Counter(
    "plano_classifier_failures_total", "Classifier calls that failed or timed out", ["reason"]
)
AFFINITY_ERRORS = Counter(
    "plano_affinity_errors_total", "Affinity store operations that failed", ["backend", "operation"]
)
AFFINITY_STALE_PINS = Counter(
    "plano_affinity_stale_pins_total",
    "Pins naming a model the config no longer declares; the request was routed again",
)
METRICS_SOURCE_REFRESHES = Counter(
    "plano_metrics_source_refreshes_total", "Metrics source refresh attempts", ["source", "result"]
)
METRICS_SOURCE_STALE = Gauge(
    "plano_metrics_source_stale",
    "1 while a metrics source serves data from a failed refresh",
    ["source"],
)
FAILOVER_RETRIES = Counter(
    "plano_failover_retries_total",
    "Upstream attempts retried by a retry_policy, by the next target (same_model or another)",
    ["target"],
)
FAILOVER_OUTCOMES = Counter(
    "plano_failover_outcomes_total",
    "Requests with a retry_policy, by outcome (first_try, recovered, exhausted, failed; "
    "envoy_judged_first: sent with a first attempt Envoy judges alone, whose success or "
    "non-retriable failure is then counted by Envoy only)",
    ["outcome"],
)
MODEL_BLOCKS = Counter(
    "plano_model_blocks_total",
    "Models blocked for new requests, by reason (retry_after, high_latency)",
    ["reason"],
)
BLOCK_STORE_ERRORS = Counter(
    "plano_block_store_errors_total",
    "Block store operations that failed (the model is then treated as unblocked)",
    ["backend", "operation"],
)
AUTH_REFUSALS = Counter(
    "plano_auth_refusals_total",
    "Requests refused by client authentication, by reason (missing_api_key, invalid_api_key, "
    "expired_api_key, model_not_allowed, authentication_throttled, ...)",
    ["reason"],
)
CLIENT_REQUESTS = Counter(
    "plano_client_requests_total",
    "Requests admitted by client authentication, by identity: a key's name, or jwt for every token",
    ["identity"],
)
RATELIMIT_STORE_ERRORS = Counter(
    "plano_ratelimit_store_errors_total",
    "Rate-limit bucket operations that failed or were skipped while the store was unreachable "
    "(requests were then let through unchecked)",
    ["backend", "operation"],
)
RATELIMIT_TOKENS = Counter(
    "plano_ratelimit_tokens_total",
    "Tokens charged to ratelimits entries before the request (the prompt's estimate), by "
    "model, selector (header=value or header=*) and value (the client's value for a * "
    "selector: a name as itself, else a digest; past 100 per entry, other)",
    ["model", "selector", "value"],
)
RATELIMIT_USED = Counter(
    "plano_ratelimit_used_tokens_total",
    "Tokens that charged requests used, as their answers report (or as estimated when an "
    "answer reports none), by the model that answered; the buckets are corrected to these",
    ["model"],
)
RATELIMIT_LIMITED = Counter(
    "plano_ratelimit_limited_total",
    "Requests refused (or sent to another model) because a ratelimits entry had no room, by "
    "model, selector and value (as for plano_ratelimit_tokens_total)",
    ["model", "selector", "value"],
)
