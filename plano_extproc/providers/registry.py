"""The provider table: one entry per provider Plano knows, asked by config validation (prefix,
base_url), the Envoy generator (through the upstreams derived from the config) and the request
rewrite (wire API, path, credentials). Adding a provider is adding one entry here; its
built-in model list (for `provider/*` and `/v1/models`) is in `catalog.py`.

A family is named by a model's prefix (`gemini/gemini-2.5-flash` → `gemini`, `google` being
an alias) or by Plano's `provider_interface`, which says which API a server behind another
name speaks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType

from plano_extproc.contract.client_api import ClientApi


class ProviderApi(StrEnum):
    """The wire API an upstream is called in."""

    OPENAI = "openai"  # OpenAI chat completions and compatible servers
    ANTHROPIC = "anthropic"  # Anthropic Messages
    BEDROCK = "bedrock"  # Amazon Bedrock Converse / ConverseStream


class PathStyle(StrEnum):
    """How a family lays out an API's path under its prefix."""

    PLAIN = "plain"  # {prefix}{version}/chat/completions
    AZURE = "azure"  # {prefix}/{deployment}/chat/completions?api-version=...
    BEDROCK = "bedrock"  # {prefix}/model/{model id}/converse(-stream)


ANTHROPIC_VERSION = "2023-06-01"
# Azure OpenAI's api-version when the client sends none (the one Plano sends).
AZURE_API_VERSION = "2025-01-01-preview"

_OPENAI_CLIENTS = frozenset({ClientApi.CHAT})
_RESPONSES_TOO = frozenset({ClientApi.CHAT, ClientApi.RESPONSES})


@dataclass(frozen=True, slots=True)
class ProviderFamily:
    name: str
    # The public base URL, so that `base_url` may be left out. Its path, like a base_url's,
    # replaces `path_prefix`.
    endpoint: str | None = None
    # The client APIs it serves as they are; any other is translated: to Chat Completions,
    # or to its native API when that is neither (Bedrock's Converse).
    serves: frozenset[ClientApi] = _OPENAI_CLIENTS
    native_api: ProviderApi = ProviderApi.OPENAI
    # The path before the API's own: "/v1" for most, replaced by a base_url's path; `version`
    # follows the prefix and is kept (Groq: /openai + /v1/chat/completions).
    path_prefix: str = "/v1"
    version: str = ""
    path_style: PathStyle = PathStyle.PLAIN
    # Whether Plano's config validation asks for `base_url` even though the name is known.
    needs_base_url: bool = False
    # The key of its built-in model list in `catalog.py`; None: no list (a gateway or server).
    catalog: str | None = None
    # Without an access_key the client's own credentials are forwarded (passthrough_auth).
    passthrough_without_key: bool = False
    # Sent on every request unless the config's `headers` say otherwise.
    default_headers: tuple[tuple[str, str], ...] = ()

    @property
    def serves_responses(self) -> bool:
        """Whether it serves OpenAI's Responses API itself (and keeps its own state)."""
        return ClientApi.RESPONSES in self.serves

    def credential_headers(self, wire: ProviderApi, key: str) -> tuple[tuple[str, str], ...]:
        """How `key` is sent on a request in `wire`: Anthropic's Messages API takes x-api-key
        (and a version); every other endpoint a bearer token (Bedrock: an API key)."""
        if wire is ProviderApi.ANTHROPIC:
            return (("x-api-key", key), ("anthropic-version", ANTHROPIC_VERSION))
        return (("authorization", f"Bearer {key}"),)


_ANTHROPIC_SERVES = frozenset({ClientApi.CHAT, ClientApi.MESSAGES})

FAMILIES = MappingProxyType(
    {
        family.name: family
        for family in (
            ProviderFamily(
                "openai", "https://api.openai.com", serves=_RESPONSES_TOO, catalog="openai"
            ),
            ProviderFamily(
                "anthropic",
                "https://api.anthropic.com",
                serves=_ANTHROPIC_SERVES,
                native_api=ProviderApi.ANTHROPIC,
                catalog="anthropic",
            ),
            # Ours (`provider_interface: claude`): the Messages API, at a base_url.
            ProviderFamily(
                "claude",
                serves=_ANTHROPIC_SERVES,
                native_api=ProviderApi.ANTHROPIC,
                needs_base_url=True,
            ),
            ProviderFamily(
                "azure_openai",
                path_prefix="/openai/deployments",
                path_style=PathStyle.AZURE,
                needs_base_url=True,
                catalog="openai",
            ),
            ProviderFamily(
                "amazon_bedrock",
                serves=frozenset(),
                native_api=ProviderApi.BEDROCK,
                path_prefix="",
                path_style=PathStyle.BEDROCK,
                needs_base_url=True,
                catalog="amazon_bedrock",
            ),
            ProviderFamily(
                "chatgpt",
                "https://chatgpt.com/backend-api/codex",
                serves=_RESPONSES_TOO,
                catalog="chatgpt",
                passthrough_without_key=True,
                # The ChatGPT backend serves Codex clients, which name themselves so.
                default_headers=(("originator", "codex_cli_rs"),),
            ),
            ProviderFamily("deepseek", "https://api.deepseek.com", catalog="deepseek"),
            ProviderFamily(
                "digitalocean", "https://inference.do-ai.run/v1", catalog="digitalocean"
            ),
            ProviderFamily("edenai", "https://api.edenai.run/v3"),
            ProviderFamily(
                "gemini",
                "https://generativelanguage.googleapis.com",
                path_prefix="/v1beta/openai",
                catalog="gemini",
            ),
            ProviderFamily("github", needs_base_url=True),
            ProviderFamily("groq", "https://api.groq.com", path_prefix="/openai", version="/v1"),
            ProviderFamily("meta", needs_base_url=True, catalog="meta"),
            ProviderFamily("minimax", needs_base_url=True, catalog="minimax"),
            ProviderFamily("mistral", "https://api.mistral.ai", catalog="mistral"),
            ProviderFamily("moonshotai", "https://api.moonshot.ai", catalog="moonshotai"),
            ProviderFamily("ollama", needs_base_url=True),
            ProviderFamily("openrouter", "https://openrouter.ai/api/v1"),
            ProviderFamily("plano", needs_base_url=True),
            ProviderFamily(
                "qwen",
                path_prefix="/compatible-mode/v1",
                needs_base_url=True,
                catalog="qwen",
            ),
            ProviderFamily("together_ai", "https://api.together.xyz"),
            ProviderFamily(
                "vercel",
                "https://ai-gateway.vercel.sh/v1",
                serves=frozenset(ClientApi),
            ),
            ProviderFamily("xai", "https://api.x.ai", serves=_RESPONSES_TOO, catalog="xai"),
            ProviderFamily("xiaomi", "https://api.xiaomimimo.com", catalog="xiaomi"),
            ProviderFamily(
                "zhipu", "https://open.bigmodel.cn", path_prefix="/api/paas/v4", catalog="zhipu"
            ),
            ProviderFamily("astraflow", needs_base_url=True),
            ProviderFamily("astraflow_cn", needs_base_url=True),
        )
    }
)

# Other names Plano accepts for a family, as a model prefix.
ALIASES = MappingProxyType(
    {
        "google": "gemini",
        "together": "together_ai",
        "amazon": "amazon_bedrock",
        "do": "digitalocean",
        "do_ai": "digitalocean",
    }
)

# Servers Plano calls without the /v1 prefix, told apart by their model prefix alone.
_UNVERSIONED = frozenset({"perplexity"})


def known_family(name: str) -> ProviderFamily | None:
    """The family `name` (a prefix, an alias or a provider_interface) names, if it is known."""
    return FAMILIES.get(ALIASES.get(name, name))


def family_of(name: str) -> ProviderFamily:
    """The family a model prefix or `provider_interface` names; any other name is a server
    that speaks OpenAI's API at a `base_url` the config must give."""
    known = known_family(name)
    return known if known is not None else ProviderFamily(name)


def family_for(prefix: str, interface: str | None) -> ProviderFamily:
    """A provider's family: its `provider_interface` when set, else its model prefix. A few
    servers (Perplexity) are called without /v1 whatever interface they are given."""
    family = family_of(interface or prefix)
    if prefix in _UNVERSIONED:
        return replace(family, path_prefix="")
    return family
