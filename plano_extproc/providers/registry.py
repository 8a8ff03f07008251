"""The provider table: one entry per provider family, asked by config validation (endpoints),
the Envoy generator (through the upstreams derived from the config) and the request rewrite
(wire APIs, credentials). Adding a provider is adding one entry here.

A family is named by a model's prefix (`openai/gpt-4o` → `openai`) or by Plano's
`provider_interface`, which says which API a server behind another name speaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class ProviderApi(StrEnum):
    """The wire API an upstream speaks."""

    OPENAI = "openai"  # OpenAI chat completions and compatible servers
    ANTHROPIC = "anthropic"  # Anthropic Messages
    BEDROCK = "bedrock"  # Amazon Bedrock Converse (JSON) and ConverseStream (AWS event stream)


ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True)
class ProviderFamily:
    name: str
    # The public base URL, so `base_url` may be left out; a prefix for /v1/... paths.
    endpoint: str | None = None
    # The API it speaks natively. Anthropic also serves an OpenAI-compatible endpoint, which
    # Plano uses for OpenAI-format clients.
    native_api: ProviderApi = ProviderApi.OPENAI
    # Whether it serves OpenAI's Responses API itself (and keeps its own conversation state).
    serves_responses: bool = False

    def credential_headers(self, wire: ProviderApi, key: str) -> tuple[tuple[str, str], ...]:
        """How `key` is sent on a request in `wire`: Anthropic's Messages API takes x-api-key
        (and a version); every OpenAI-compatible endpoint a bearer token."""
        if wire is ProviderApi.ANTHROPIC:
            return (("x-api-key", key), ("anthropic-version", ANTHROPIC_VERSION))
        return (("authorization", f"Bearer {key}"),)


FAMILIES = MappingProxyType(
    {
        family.name: family
        for family in (
            ProviderFamily("openai", "https://api.openai.com", serves_responses=True),
            ProviderFamily(
                "anthropic", "https://api.anthropic.com", native_api=ProviderApi.ANTHROPIC
            ),
            # Plano's `provider_interface: claude`: the Messages API, at a base_url.
            ProviderFamily("claude", native_api=ProviderApi.ANTHROPIC),
            ProviderFamily("groq", "https://api.groq.com/openai"),
            ProviderFamily("mistral", "https://api.mistral.ai"),
            ProviderFamily("deepseek", "https://api.deepseek.com"),
            ProviderFamily("together_ai", "https://api.together.xyz"),
            ProviderFamily("xai", "https://api.x.ai"),
        )
    }
)


def family_of(name: str) -> ProviderFamily:
    """The family a model prefix or `provider_interface` names; any other name is a server
    that speaks OpenAI's API at a `base_url` the config must give."""
    known = FAMILIES.get(name)
    return known if known is not None else ProviderFamily(name)
