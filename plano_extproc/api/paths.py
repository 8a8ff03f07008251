"""The HTTP path each client API lives at, under a provider's base path."""

from __future__ import annotations

from types import MappingProxyType

from plano_extproc.api.conversation import ClientApi

API_PATHS = MappingProxyType(
    {
        ClientApi.CHAT: "/v1/chat/completions",
        ClientApi.MESSAGES: "/v1/messages",
        ClientApi.RESPONSES: "/v1/responses",
    }
)


def provider_path(base_path: str, api: ClientApi) -> str:
    """`base_path` is a base_url's path ("", "/openai", "/v1"); base_urls are written with or
    without a trailing /v1, and neither may give /v1/v1/..."""
    base_path = base_path.rstrip("/")
    path = API_PATHS[api]
    if base_path.endswith("/v1"):
        return base_path + path.removeprefix("/v1")
    return base_path + path
