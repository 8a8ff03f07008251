"""The provider table: Plano's providers, their aliases, endpoints, wire APIs and credentials."""

from __future__ import annotations

from plano_extproc.config.model import ModelProvider
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.catalog import CATALOG, catalog_models
from plano_extproc.providers.registry import (
    ALIASES,
    FAMILIES,
    ProviderApi,
    family_of,
    known_family,
)

# Plano's ProviderId (crates/hermesllm/src/providers/id.rs), by its configuration names.
PLANO_PROVIDERS = {
    "openai", "xiaomi", "mistral", "deepseek", "groq", "gemini", "anthropic", "github", "plano",
    "azure_openai", "xai", "together_ai", "ollama", "moonshotai", "zhipu", "qwen",
    "amazon_bedrock", "chatgpt", "digitalocean", "vercel", "openrouter", "astraflow",
    "astraflow_cn", "meta", "minimax", "edenai",
}  # fmt: skip


def test_every_plano_provider_is_in_the_table_and_aliases_name_one() -> None:
    assert set(FAMILIES) >= PLANO_PROVIDERS
    assert set(FAMILIES) - PLANO_PROVIDERS == {"claude"}
    assert {alias: known_family(alias).name for alias in ALIASES} == {
        "google": "gemini",
        "together": "together_ai",
        "amazon": "amazon_bedrock",
        "do": "digitalocean",
        "do_ai": "digitalocean",
    }


def test_a_family_has_an_endpoint_or_needs_a_base_url_never_both() -> None:
    for family in FAMILIES.values():
        assert (family.endpoint is None) == family.needs_base_url, family.name
        assert family.endpoint is None or family.endpoint.startswith("https://")
    assert family_of("gemini").endpoint == "https://generativelanguage.googleapis.com"
    assert family_of("azure_openai").endpoint is None


def test_an_unknown_name_is_an_openai_compatible_server() -> None:
    server = family_of("vllm")
    assert known_family("vllm") is None
    assert (server.name, server.endpoint, server.native_api) == ("vllm", None, ProviderApi.OPENAI)
    assert server.serves == {ClientApi.CHAT}


def test_which_client_apis_each_provider_serves_as_they_are() -> None:
    responses = {name for name, f in FAMILIES.items() if ClientApi.RESPONSES in f.serves}
    messages = {name for name, f in FAMILIES.items() if ClientApi.MESSAGES in f.serves}
    assert responses == {"openai", "xai", "chatgpt", "vercel"}
    assert messages == {"anthropic", "claude", "vercel"}
    assert family_of("amazon_bedrock").serves == frozenset()
    assert family_of("amazon_bedrock").native_api is ProviderApi.BEDROCK


def test_credentials_follow_the_wire_api() -> None:
    anthropic = family_of("anthropic")
    assert anthropic.credential_headers(ProviderApi.OPENAI, "k") == (("authorization", "Bearer k"),)
    assert dict(anthropic.credential_headers(ProviderApi.ANTHROPIC, "k")) == {
        "x-api-key": "k",
        "anthropic-version": "2023-06-01",
    }
    bedrock = family_of("amazon_bedrock")
    assert bedrock.credential_headers(ProviderApi.BEDROCK, "k") == (("authorization", "Bearer k"),)


def test_every_catalog_belongs_to_a_family_and_lists_bare_ids() -> None:
    keys = {f.catalog for f in FAMILIES.values() if f.catalog is not None}
    assert keys == set(CATALOG)
    assert all(models and all("/" not in m for m in models) for models in CATALOG.values())
    assert catalog_models(None) == ()


def test_a_provider_looks_its_family_up_once_by_interface_first() -> None:
    proxied = ModelProvider("corp/claude", "corp", "claude", provider_interface="anthropic")
    assert proxied.family is FAMILIES["anthropic"]
    assert proxied.api is ProviderApi.ANTHROPIC
    local = ModelProvider("ollama/llama3", "ollama", "llama3")
    assert (local.api, local.speaks_responses) == (ProviderApi.OPENAI, False)
    assert ModelProvider("google/g", "google", "g").family is FAMILIES["gemini"]
