"""Which client headers a provider may see: an allowlist per wire API; everything else is removed.

A provider is a third party. The client's cookies, other services' keys (`proxy-authorization`,
`api-key`, `x-goog-api-key`), its OpenAI organisation, SDK telemetry and the gateway's own
`x-plano-*` and affinity headers never reach it. Credentials are the provider's own (set by the
rewrite), or the client's where `passthrough_auth` says so. Pseudo-headers, `host`, Envoy's
own `x-envoy-*` and the `x-forwarded-*` headers are Envoy's to set and strip.
"""

from __future__ import annotations

from collections.abc import Iterable

from plano_extproc.providers.registry import ProviderApi

# Both APIs: the body's type, what the client accepts back, who it is, and trace context.
COMMON = frozenset(
    {
        "content-type",
        "content-length",
        "accept",
        "user-agent",
        "x-request-id",
        "traceparent",
        "tracestate",
    }
)
# Per wire API: feature flags a client may legitimately ask the provider for.
BY_API = {
    ProviderApi.OPENAI: COMMON | {"openai-beta"},
    ProviderApi.ANTHROPIC: COMMON | {"anthropic-beta", "anthropic-version"},
    # The client's `accept` named the client API's stream type, not AWS's event stream.
    ProviderApi.BEDROCK: COMMON - {"accept"},
}
CLIENT_CREDENTIALS = frozenset({"authorization", "x-api-key"})
# Envoy's to manage: it needs x-forwarded-proto to match routes; the provider routes drop the
# client's address (x-forwarded-for) themselves (envoy/routes.py).
ENVOYS = (":", "x-envoy-", "x-forwarded-")


def not_forwarded(
    client_headers: Iterable[str], wire: ProviderApi | None, *, passthrough_auth: bool
) -> list[str]:
    """The client headers to remove before the provider; `wire` None: allowed for either API
    (a request whose provider is chosen per attempt)."""
    allowed = (
        BY_API[wire]
        if wire is not None
        else BY_API[ProviderApi.OPENAI] | BY_API[ProviderApi.ANTHROPIC]
    )
    if passthrough_auth:
        allowed = allowed | CLIENT_CREDENTIALS
    return [
        name
        for name in client_headers
        if name not in allowed and not name.startswith(ENVOYS) and name != "host"
    ]
