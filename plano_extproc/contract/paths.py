"""The HTTP paths the gateway serves: one table, read in both directions."""

from __future__ import annotations

from types import MappingProxyType

from plano_extproc.contract.client_api import ClientApi

# Where each client API lives, on the gateway and (under a base path) at providers.
API_PATHS = MappingProxyType(
    {
        ClientApi.CHAT: "/v1/chat/completions",
        ClientApi.MESSAGES: "/v1/messages",
        ClientApi.RESPONSES: "/v1/responses",
    }
)
PROXY_PATHS = MappingProxyType({path: api for api, path in API_PATHS.items()})
# The decision-only endpoints: the same APIs under /routing, answered without calling a model.
DECISION_PREFIX = "/routing"
DECISION_PATHS = MappingProxyType(
    {DECISION_PREFIX + path: api for path, api in PROXY_PATHS.items()}
)
MODELS_PATH = "/v1/models"
HEALTH_PATH = "/healthz"
