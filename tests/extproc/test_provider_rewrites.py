"""The rewrite each provider of the table gets: cluster, path (with its query), credential
header and model, for declared models and for models served by a wildcard entry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest
from google.protobuf.json_format import MessageToDict

from plano_extproc.config import load_config_text
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.failover.plan import FailoverPlan
from plano_extproc.routing.router import Router
from tests.extproc.test_gateway import headers_set, immediate, post

CONFIG = """
version: v0.4.0
model_providers:
  - {model: gemini/gemini-2.5-flash, access_key: k-gemini, default: true}
  - {model: groq/llama-3.3-70b-versatile, access_key: k-groq}
  - {model: zhipu/glm-4.6, access_key: k-zhipu, base_url: 'https://api.z.ai/api/coding/paas/v4'}
  - {model: qwen/qwen3-max, access_key: k-qwen, base_url: 'https://dashscope-intl.aliyuncs.com'}
  - {model: azure_openai/gpt-4o, access_key: k-azure, base_url: 'https://corp.openai.azure.com'}
  - {model: openai/*, access_key: k-openai}
  - model: litellm/*
    base_url: https://litellm.corp/proxy
    provider_interface: openai
    passthrough_auth: true
routing:
  classifier: {type: lexical}
"""
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    config = load_config_text(CONFIG, {})
    router = await Router.start(config)
    yield Gateway(config, router)
    await router.close()


@pytest.mark.parametrize(
    ("model", "path", "key", "sent_model"),
    [
        ("gemini/gemini-2.5-flash", "/v1beta/openai/chat/completions", "k-gemini", None),
        ("groq/llama-3.3-70b-versatile", "/openai/v1/chat/completions", "k-groq", None),
        ("zhipu/glm-4.6", "/api/coding/paas/v4/chat/completions", "k-zhipu", None),
        ("qwen/qwen3-max", "/compatible-mode/v1/chat/completions", "k-qwen", None),
        (
            "azure_openai/gpt-4o",
            "/openai/deployments/gpt-4o/chat/completions?api-version=2025-01-01-preview",
            "k-azure",
            None,
        ),
        ("openai/gpt-5", "/v1/chat/completions", "k-openai", "gpt-5"),
        ("openai/gpt-9-unlisted", "/v1/chat/completions", "k-openai", "gpt-9-unlisted"),
        ("litellm/qwen-coder", "/proxy/chat/completions", None, "qwen-coder"),
    ],
)
async def test_each_provider_gets_its_path_key_and_bare_model(
    gateway: Gateway, model: str, path: str, key: str | None, sent_model: str | None
) -> None:
    client = {"authorization": "Bearer client-key"}
    reply = await post(gateway, "/v1/chat/completions", {"model": model, "messages": HI}, client)
    headers = headers_set(reply)
    assert headers[":path"] == path
    assert headers.get("authorization") == (f"Bearer {key}" if key else None)
    sent = orjson.loads(reply.request_body.response.body_mutation.body)
    assert sent["model"] == (sent_model or model.partition("/")[2])


async def test_an_azure_clients_api_version_wins(gateway: Gateway) -> None:
    body = {"model": "azure_openai/gpt-4o", "messages": HI}
    _, pending = gateway.on_headers(
        "POST", "/v1/chat/completions?api-version=2024-10-21", False, {}
    )
    assert pending is not None
    reply = await gateway.on_body(pending, orjson.dumps(body))
    assert headers_set(reply)[":path"] == (
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    )


def test_v1_models_lists_a_wildcards_built_in_models_not_the_wildcard(gateway: Gateway) -> None:
    status, body = immediate(gateway.on_headers("GET", "/v1/models", True, {})[0])
    ids = [entry["id"] for entry in body["data"]]
    assert status == 200
    assert "openai/gpt-5" in ids
    assert "openai/*" not in ids
    assert not any(name.startswith("litellm/") for name in ids)


async def test_a_model_under_no_prefix_is_refused(gateway: Gateway) -> None:
    reply = await post(gateway, "/v1/chat/completions", {"model": "mistral/large", "messages": HI})
    status, body = immediate(reply)
    assert (status, body["error"]["details"]["reason"]) == (400, "unknown_model")


async def test_a_model_served_by_a_wildcard_fails_over_by_the_wildcards_policy() -> None:
    text = CONFIG.replace(
        "  - {model: openai/*, access_key: k-openai}",
        "  - model: openai/*\n    access_key: k-openai\n"
        "    retry_policy: {fallback_models: [gemini/gemini-2.5-flash]}",
    )
    config = load_config_text(text, {})
    router = await Router.start(config)
    try:
        gateway = Gateway(config, router)
        body = {"model": "openai/gpt-9-unlisted", "messages": HI}
        reply = await post(gateway, "/v1/chat/completions", body)
    finally:
        await router.close()
    plano = reply.dynamic_metadata.fields["plano"].struct_value
    failover = FailoverPlan.from_json(MessageToDict(plano)["failover"])
    assert failover is not None
    assert failover.candidates == ("openai/gpt-9-unlisted", "gemini/gemini-2.5-flash")
    assert failover.policy_owner == "openai/*"
    assert headers_set(reply)["x-plano-cluster"] == "plano_failover"
