"""Plano v0.4.0 configuration: loading, validation and the typed objects the service reads."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from plano_extproc.config.errors import ConfigError, ConfigIssue
from plano_extproc.config.loader import load_config, load_config_text
from plano_extproc.config.model import (
    ClassifierSettings,
    ClassifierType,
    Config,
    CostEndpointSource,
    CostSource,
    DigitalOceanPricingSource,
    Listener,
    MetricsSource,
    ModelProvider,
    OpenAIClassifierSettings,
    PrometheusLatencySource,
    RateLimitRule,
    Route,
    RoutingSettings,
    SelectionPolicy,
    SessionCacheSettings,
    SessionCacheType,
    StateStorageSettings,
    StateStorageType,
    TracingSettings,
    TritonSettings,
)
from plano_extproc.config.providers import resolve_model


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the configuration format, from ``schema.json``."""
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


__all__ = [
    "ClassifierSettings",
    "ClassifierType",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "CostEndpointSource",
    "CostSource",
    "DigitalOceanPricingSource",
    "Listener",
    "MetricsSource",
    "ModelProvider",
    "OpenAIClassifierSettings",
    "PrometheusLatencySource",
    "RateLimitRule",
    "Route",
    "RoutingSettings",
    "SelectionPolicy",
    "SessionCacheSettings",
    "SessionCacheType",
    "StateStorageSettings",
    "StateStorageType",
    "TracingSettings",
    "TritonSettings",
    "config_schema",
    "load_config",
    "load_config_text",
    "resolve_model",
]
