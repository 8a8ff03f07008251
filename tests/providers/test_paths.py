"""A provider's path: its family's rule, under the prefix its base_url gives (as in Plano)."""

from __future__ import annotations

import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.paths import openai_chat_path, provider_path, with_client_query
from plano_extproc.providers.registry import family_for, family_of

CHAT, MESSAGES, RESPONSES = ClientApi.CHAT, ClientApi.MESSAGES, ClientApi.RESPONSES


@pytest.mark.parametrize(
    ("family", "base_path", "api", "path"),
    [
        ("openai", "", CHAT, "/v1/chat/completions"),
        ("openai", "/", RESPONSES, "/v1/responses"),
        ("anthropic", "", MESSAGES, "/v1/messages"),
        ("groq", "", CHAT, "/openai/v1/chat/completions"),
        ("groq", "/openai/v1", CHAT, "/openai/v1/chat/completions"),
        ("gemini", "", CHAT, "/v1beta/openai/chat/completions"),
        ("zhipu", "", CHAT, "/api/paas/v4/chat/completions"),
        ("zhipu", "/api/coding/paas/v4", CHAT, "/api/coding/paas/v4/chat/completions"),
        ("qwen", "", CHAT, "/compatible-mode/v1/chat/completions"),
        ("openrouter", "/api/v1", CHAT, "/api/v1/chat/completions"),
        ("chatgpt", "/backend-api/codex", RESPONSES, "/backend-api/codex/responses"),
        ("openai", "/ai-gateway/openai", CHAT, "/ai-gateway/openai/chat/completions"),
        ("ollama", "", CHAT, "/v1/chat/completions"),
        ("vllm", "/models/v2", CHAT, "/models/v2/chat/completions"),
    ],
)
def test_a_base_url_path_replaces_the_default_prefix(
    family: str, base_path: str, api: ClientApi, path: str
) -> None:
    assert provider_path(family_of(family), base_path, api, model="m", stream=False) == path


def test_azure_puts_the_deployment_and_an_api_version_in_the_path() -> None:
    azure = family_of("azure_openai")
    assert provider_path(azure, "", CHAT, model="gpt-4o", stream=True) == (
        "/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview"
    )
    assert provider_path(azure, "/custom/path", CHAT, model="gpt-4o", stream=False) == (
        "/custom/path/gpt-4o/chat/completions?api-version=2025-01-01-preview"
    )


def test_bedrock_names_the_model_and_the_streaming_action() -> None:
    bedrock = family_of("amazon_bedrock")
    model = "us.amazon.nova-pro-v1:0"
    assert provider_path(bedrock, "", CHAT, model=model, stream=False) == (
        "/model/us.amazon.nova-pro-v1:0/converse"
    )
    assert provider_path(bedrock, "", MESSAGES, model=model, stream=True) == (
        "/model/us.amazon.nova-pro-v1:0/converse-stream"
    )
    arn = "arn:aws:bedrock:us-east-1:1:inference-profile/x"
    assert ":inference-profile%2Fx/" in provider_path(bedrock, "", CHAT, model=arn, stream=False)


def test_perplexity_is_called_without_a_version_whatever_its_interface() -> None:
    family = family_for("perplexity", "openai")
    assert provider_path(family, "", CHAT, model="sonar", stream=False) == "/chat/completions"


def test_the_clients_query_wins_over_the_paths_own() -> None:
    path = "/d/chat/completions?api-version=1"
    assert with_client_query(path, "") == path
    assert with_client_query(path, "api-version=2") == "/d/chat/completions?api-version=2"
    assert with_client_query(path, "x=1") == "/d/chat/completions?api-version=1&x=1"
    assert with_client_query("/v1/chat/completions", "x=1") == "/v1/chat/completions?x=1"


@pytest.mark.parametrize(
    ("base_path", "path"),
    [("", "/v1/chat/completions"), ("/v1/", "/v1/chat/completions"), ("/x", "/x/chat/completions")],
)
def test_a_classifier_server_is_openai_compatible(base_path: str, path: str) -> None:
    assert openai_chat_path(base_path) == path
