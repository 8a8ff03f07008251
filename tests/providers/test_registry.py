"""The provider table: endpoints, wire APIs and credentials, one entry per family."""

from __future__ import annotations

from plano_extproc.config.model import ModelProvider
from plano_extproc.providers.registry import FAMILIES, ProviderApi, family_of


def test_known_families_have_their_public_endpoint() -> None:
    assert family_of("openai").endpoint == "https://api.openai.com"
    assert family_of("groq").endpoint == "https://api.groq.com/openai"
    assert all(f.endpoint is None or f.endpoint.startswith("https://") for f in FAMILIES.values())


def test_an_unknown_name_is_an_openai_compatible_server_without_an_endpoint() -> None:
    server = family_of("ollama")
    assert (server.name, server.endpoint, server.native_api) == ("ollama", None, ProviderApi.OPENAI)
    assert not server.serves_responses


def test_anthropic_and_claude_speak_messages_and_only_openai_serves_responses() -> None:
    assert family_of("anthropic").native_api is ProviderApi.ANTHROPIC
    assert family_of("claude").native_api is ProviderApi.ANTHROPIC
    assert family_of("claude").endpoint is None
    assert [f.name for f in FAMILIES.values() if f.serves_responses] == ["openai"]


def test_credentials_follow_the_wire_api() -> None:
    anthropic = family_of("anthropic")
    assert anthropic.credential_headers(ProviderApi.OPENAI, "k") == (("authorization", "Bearer k"),)
    assert dict(anthropic.credential_headers(ProviderApi.ANTHROPIC, "k")) == {
        "x-api-key": "k",
        "anthropic-version": "2023-06-01",
    }


def test_a_provider_looks_its_family_up_once_by_interface_first() -> None:
    proxied = ModelProvider("corp/claude", "corp", "claude", provider_interface="anthropic")
    assert proxied.family is FAMILIES["anthropic"]
    assert proxied.api is ProviderApi.ANTHROPIC
    local = ModelProvider("ollama/llama3", "ollama", "llama3")
    assert local.family is local.family
    assert (local.api, local.speaks_responses) == (ProviderApi.OPENAI, False)
