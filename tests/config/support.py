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

# The smallest valid file, indented for `load`, which dedents; sections are appended to it.
MINIMAL = """\
    version: v0.4.0
    model_providers:
      - model: openai/gpt-4o
"""

# Two declared providers, for invalid cases that append the section they are about.
HEAD = """\
version: v0.4.0
model_providers:
  - {model: openai/gpt-4o, access_key: k}
  - {model: openai/gpt-4o-mini, access_key: k}
"""

# An invalid configuration: its test id, its text, and exactly the issues it must raise.
Case = tuple[str, str, list[tuple[str, str]]]


def load(text: str, env: Mapping[str, str] = KEYS, *, require_keys: bool = True) -> Config:
    return load_config_text(textwrap.dedent(text), env, require_keys=require_keys)


def issues_of(text: str, env: Mapping[str, str] = KEYS) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load(text, env)
    return [(issue.location, issue.message) for issue in caught.value.issues]


def invalid_cases(cases: list[Case]) -> pytest.MarkDecorator:
    """Parametrizes a test with each case's (text, expected), under the case's name as its id."""
    return pytest.mark.parametrize(
        ("text", "expected"), [case[1:] for case in cases], ids=[c[0] for c in cases]
    )
