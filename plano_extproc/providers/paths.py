"""The path a request has at a provider: the family's path rule, under the path its base_url
gives.

A base_url's path (`https://host/custom/prefix`) replaces the family's default prefix ("/v1",
Gemini's "/v1beta/openai", ...), as in Plano; the API's own path follows. Base URLs are written
with or without a trailing version, and neither gives /v1/v1/...
"""

from __future__ import annotations

from types import MappingProxyType
from urllib.parse import quote

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.registry import AZURE_API_VERSION, PathStyle, ProviderFamily

# Each API's path under a provider's prefix.
API_SUFFIXES = MappingProxyType(
    {
        ClientApi.CHAT: "/chat/completions",
        ClientApi.MESSAGES: "/messages",
        ClientApi.RESPONSES: "/responses",
    }
)


def _prefix(family: ProviderFamily, base_path: str) -> str:
    """The prefix: the base_url's path when it has one, else the family's; its version kept
    once (a base_url may end with it)."""
    prefix = base_path.strip("/") or family.path_prefix.strip("/")
    prefix = f"/{prefix}" if prefix else ""
    if family.version and not prefix.endswith(family.version):
        prefix += family.version
    return prefix


def provider_path(
    family: ProviderFamily, base_path: str, api: ClientApi, *, model: str, stream: bool
) -> str:
    """The path for a body in `api` (the client's API, or the one it is translated to) for
    `model` (the bare id). Azure's path carries its default `api-version` query."""
    prefix = _prefix(family, base_path)
    if family.path_style is PathStyle.BEDROCK:
        action = "converse-stream" if stream else "converse"
        return f"{prefix}/model/{quote(model, safe=':')}/{action}"
    if family.path_style is PathStyle.AZURE:
        deployment = quote(model, safe="")
        return f"{prefix}/{deployment}{API_SUFFIXES[api]}?api-version={AZURE_API_VERSION}"
    return prefix + API_SUFFIXES[api]


def with_client_query(path: str, query: str) -> str:
    """`path` with the client's query string; the client's parameters win over the path's own
    (an Azure client's `api-version`)."""
    if not query:
        return path
    base, _, own = path.partition("?")
    given = {part.partition("=")[0] for part in query.split("&")}
    kept = [part for part in own.split("&") if part and part.partition("=")[0] not in given]
    return f"{base}?{'&'.join([*kept, query])}"


def openai_chat_path(base_path: str) -> str:
    """Chat Completions under an OpenAI-compatible server's base path (a classifier's)."""
    prefix = base_path.strip("/") or "v1"
    return f"/{prefix}{API_SUFFIXES[ClientApi.CHAT]}"
