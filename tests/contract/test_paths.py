"""One path table serves the proxy, the decision endpoints and the provider paths."""

from __future__ import annotations

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.paths import API_PATHS, DECISION_PATHS, PROXY_PATHS


def test_every_client_api_has_a_proxy_and_a_decision_path() -> None:
    assert set(API_PATHS) == set(ClientApi)
    for api, path in API_PATHS.items():
        assert PROXY_PATHS[path] is api
        assert DECISION_PATHS["/routing" + path] is api


def test_plano_paths() -> None:
    assert DECISION_PATHS["/routing/v1/chat/completions"] is ClientApi.CHAT
    assert PROXY_PATHS["/v1/messages"] is ClientApi.MESSAGES
    assert API_PATHS[ClientApi.RESPONSES] == "/v1/responses"
