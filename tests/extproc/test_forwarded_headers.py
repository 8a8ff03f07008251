"""Client headers a provider may see: an allowlist per wire API."""

from __future__ import annotations

from plano_extproc.extproc.forwarded_headers import not_forwarded
from plano_extproc.providers.registry import ProviderApi

CLIENT = [
    ":authority",
    "host",
    "content-type",
    "user-agent",
    "traceparent",
    "cookie",
    "proxy-authorization",
    "api-key",
    "x-goog-api-key",
    "openai-organization",
    "openai-beta",
    "anthropic-beta",
    "x-plano-cluster",
    "x-model-affinity",
    "x-stainless-lang",
    "authorization",
    "x-envoy-original-path",
]


def test_only_the_allowlist_of_the_wire_api_goes_on() -> None:
    removed = set(not_forwarded(CLIENT, ProviderApi.OPENAI, passthrough_auth=False))
    assert removed == {
        "cookie",
        "proxy-authorization",
        "api-key",
        "x-goog-api-key",
        "openai-organization",
        "anthropic-beta",
        "x-plano-cluster",
        "x-model-affinity",
        "x-stainless-lang",
        "authorization",
    }
    anthropic = set(not_forwarded(CLIENT, ProviderApi.ANTHROPIC, passthrough_auth=False))
    assert "openai-beta" in anthropic
    assert "anthropic-beta" not in anthropic


def test_passthrough_keeps_the_clients_credentials() -> None:
    removed = not_forwarded(CLIENT, ProviderApi.OPENAI, passthrough_auth=True)
    assert "authorization" not in removed
    assert "cookie" in removed


def test_a_request_for_either_api_keeps_both_feature_flags() -> None:
    removed = not_forwarded(CLIENT, None, passthrough_auth=True)
    assert "openai-beta" not in removed
    assert "anthropic-beta" not in removed
    assert "cookie" in removed
