from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from plano_extproc.config import load_config_text
from plano_extproc.config.model import Config
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.routing.router import Router

CONFIG = """
version: v0.4.0
model_providers:
  - model: openai/gpt-4o-mini
    access_key: $OPENAI_KEY
    default: true
  - model: openai/gpt-4o
    access_key: $OPENAI_KEY
  - model: anthropic/claude-sonnet-4-20250514
    access_key: $ANTHROPIC_KEY
  - model: anthropic/claude-3-5-haiku-latest
    access_key: $ANTHROPIC_KEY
    upstream_api: messages
  - model: ollama/llama3.1
    base_url: http://127.0.0.1:11434
    passthrough_auth: true
  - model: groq/llama-3.3-70b
    access_key: $GROQ_KEY
model_aliases:
  fast-model: {target: openai/gpt-4o-mini}
routing_preferences:
  - name: code_generation
    description: generating new code snippets, writing functions, or creating boilerplate
    models: [openai/gpt-4o, anthropic/claude-sonnet-4-20250514]
routing:
  classifier: {type: lexical}
"""
ENV = {"OPENAI_KEY": "sk-test-openai", "ANTHROPIC_KEY": "sk-ant-test"}


@pytest.fixture
def config() -> Config:
    return load_config_text(CONFIG, ENV, require_keys=False)


@pytest.fixture
async def gateway(config: Config) -> AsyncIterator[Gateway]:
    router = await Router.start(config)
    yield Gateway(config, router)
    await router.close()
