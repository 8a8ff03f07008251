"""Helpers shared by the config tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from plano_extproc.config import Config, ConfigError, load_config_text

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).parents[2] / "config.example.yaml"
KEYS = {"OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant", "PRICING_TOKEN": "tok"}


def load(text: str, env: Mapping[str, str] = KEYS, *, require_keys: bool = True) -> Config:
    return load_config_text(textwrap.dedent(text), env, require_keys=require_keys)


def issues_of(text: str, env: Mapping[str, str] = KEYS) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load(text, env)
    return [(issue.location, issue.message) for issue in caught.value.issues]
