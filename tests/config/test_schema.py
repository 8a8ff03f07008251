"""``schema.json`` stays in step with the loader: same keys, and every valid file validates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from plano_extproc.config import config_schema, load_config
from plano_extproc.config.spec import METRICS_SOURCE_FORMS, SECTION_SPECS
from tests.config.support import EXAMPLE, FIXTURES, KEYS

VALID_FILES = [EXAMPLE, *sorted(FIXTURES.glob("*.yaml"))]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    document = config_schema()
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def _definition(schema: dict[str, Any], section: str) -> dict[str, Any]:
    return schema if section == "config" else schema["$defs"][section]


@pytest.mark.parametrize("section", sorted(SECTION_SPECS))
def test_schema_sections_hold_exactly_the_loaders_keys(
    schema: dict[str, Any], section: str
) -> None:
    definition = _definition(schema, section)
    spec = SECTION_SPECS[section]

    assert set(definition["properties"]) == spec.accepted
    assert set(definition.get("required", ())) == spec.required
    assert definition["additionalProperties"] is False


def test_schema_metrics_sources_cover_every_spelling(schema: dict[str, Any]) -> None:
    spellings = set()
    for choice in schema["properties"]["model_metrics_sources"]["items"]["oneOf"]:
        properties = schema["$defs"][choice["$ref"].rsplit("/", 1)[1]]["properties"]
        spellings.add((properties["type"]["const"], properties.get("provider", {}).get("const")))

    assert spellings == set(METRICS_SOURCE_FORMS)


@pytest.mark.parametrize("path", VALID_FILES, ids=lambda path: path.name)
def test_every_valid_file_loads_and_matches_the_schema(schema: dict[str, Any], path: Path) -> None:
    variables = re.findall(r"\$([A-Z_]+)", path.read_text())
    load_config(path, {**dict.fromkeys(variables, "key"), **KEYS})

    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    "document",
    [
        {"model_providers": [{"model": "openai/gpt-4o"}]},
        {"version": "v0.4.0", "model_providers": [{"model": "openai/gpt-4o", "colour": "red"}]},
        {"version": "v0.4.0", "model_providers": [{"model": "a/b"}], "llm_providers": []},
        {"version": "v0.4.0", "routing": {"session_cache": {"type": "redis"}}},
        {"version": "v0.4.0", "model_metrics_sources": [{"type": "cost", "provider": "x"}]},
    ],
)
def test_schema_rejects_structural_mistakes(schema: dict[str, Any], document: object) -> None:
    assert not jsonschema.Draft202012Validator(schema).is_valid(document)
