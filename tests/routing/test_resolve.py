from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from plano_extproc.config.model import Config
from plano_extproc.routing.decision import Decision
from plano_extproc.routing.resolve import ModelResolver
from plano_extproc.wire.errors import InvalidRequest

from .conftest import CLAUDE, GPT4O, MINI, provider

ROUTED = Decision((CLAUDE, GPT4O), "code_generation", "0" * 32)
NO_ROUTE = Decision(("none",), None, "0" * 32)


@pytest.fixture
def resolver(demo_config: Config) -> ModelResolver:
    aliased = replace(demo_config, aliases=MappingProxyType({"fast-model": MINI}))
    return ModelResolver.for_config(aliased)


@pytest.mark.parametrize(
    ("decision", "requested", "expected"),
    [
        (ROUTED, "gpt-4o-mini", CLAUDE),
        (NO_ROUTE, "fast-model", MINI),
        (NO_ROUTE, GPT4O, GPT4O),
        (NO_ROUTE, "gpt-4o", GPT4O),
        (None, "claude-sonnet-4-20250514", CLAUDE),
        (NO_ROUTE, None, MINI),
    ],
)
def test_resolution_order(
    resolver: ModelResolver, decision: Decision | None, requested: str | None, expected: str
) -> None:
    assert resolver.resolve(decision, requested).name == expected


def test_unknown_model_is_a_400_naming_it(resolver: ModelResolver) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolver.resolve(NO_ROUTE, "gpt-5-turbo")
    assert caught.value.status == 400
    assert caught.value.message == "model 'gpt-5-turbo' is not served by any configured provider"


def test_ambiguous_bare_id_is_not_guessed(demo_config: Config) -> None:
    twin = replace(demo_config, providers=(*demo_config.providers, provider("azure/gpt-4o")))
    with pytest.raises(InvalidRequest):
        ModelResolver.for_config(twin).resolve(None, "gpt-4o")


def test_missing_model_without_default_is_a_400(demo_config: Config) -> None:
    no_default = replace(demo_config, providers=(provider(GPT4O), provider(CLAUDE)))
    with pytest.raises(InvalidRequest) as caught:
        ModelResolver.for_config(no_default).resolve(NO_ROUTE, None)
    assert caught.value.reason == "missing_model"


def test_an_unknown_model_is_quoted_short(demo_config: Config) -> None:
    resolver = ModelResolver.for_config(demo_config)
    with pytest.raises(InvalidRequest) as refused:
        resolver.resolve(None, "m" * 1_000_000)
    assert len(str(refused.value)) < 200
