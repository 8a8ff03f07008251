from __future__ import annotations

import pytest

from plano_extproc.config.model import Config, ModelProvider, Route, SelectionPolicy

CLAUDE = "anthropic/claude-sonnet-4-20250514"
GPT4O = "openai/gpt-4o"
MINI = "openai/gpt-4o-mini"


def provider(name: str, *, default: bool = False) -> ModelProvider:
    vendor, model_id = name.split("/", 1)
    return ModelProvider(name=name, provider=vendor, model_id=model_id, default=default)


CODE = Route(
    "code_generation",
    "generating new code snippets, writing functions, or creating boilerplate",
    (CLAUDE, GPT4O),
    examples=("Build a React component",),
)
REASONING = Route(
    "complex_reasoning",
    "complex reasoning tasks, multi-step analysis, or detailed explanations",
    (GPT4O, MINI),
    SelectionPolicy.CHEAPEST,
    examples=("Explain the trade-offs between two designs",),
)


@pytest.fixture
def demo_config() -> Config:
    return Config(
        version="v0.4.0",
        providers=(provider(MINI, default=True), provider(GPT4O), provider(CLAUDE)),
        routes=(CODE, REASONING),
    )
