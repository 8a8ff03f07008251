"""The path a client API has at a provider, under the provider's base path."""

from __future__ import annotations

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.paths import API_PATHS


def provider_path(base_path: str, api: ClientApi) -> str:
    """`base_path` is a base_url's path ("", "/openai", "/v1"); base_urls are written with or
    without a trailing /v1, and neither may give /v1/v1/..."""
    base_path = base_path.rstrip("/")
    path = API_PATHS[api]
    if base_path.endswith("/v1"):
        return base_path + path.removeprefix("/v1")
    return base_path + path
