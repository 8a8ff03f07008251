"""A provider's path for a client API, under the base path its base_url gives."""

from __future__ import annotations

import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.paths import provider_path


@pytest.mark.parametrize(
    ("base_path", "api", "path"),
    [
        ("", ClientApi.CHAT, "/v1/chat/completions"),
        ("/", ClientApi.MESSAGES, "/v1/messages"),
        ("/v1", ClientApi.CHAT, "/v1/chat/completions"),
        ("/v1/", ClientApi.RESPONSES, "/v1/responses"),
        ("/openai", ClientApi.CHAT, "/openai/v1/chat/completions"),
        ("/api/v1", ClientApi.CHAT, "/api/v1/chat/completions"),
    ],
)
def test_a_trailing_v1_is_never_doubled(base_path: str, api: ClientApi, path: str) -> None:
    assert provider_path(base_path, api) == path
