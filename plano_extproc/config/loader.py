"""Loads a Plano v0.4.0 configuration file into the typed `Config`.

Every problem of a file is collected and raised together as one `ConfigError`; nothing stops
at the first. Notes that do not prevent loading end up in `Config.warnings`.

Policies, where the format leaves room for choice:

* Keys from the environment: see `environment.py`.
* ``overrides.llm_routing_model`` names a declared provider (its full ``provider/model``, its
  `name`, or a bare model id matching exactly one provider). Unless ``routing.classifier.type``
  is set explicitly, it selects the ``openai`` classifier against that provider's base URL,
  model id and key. The provider stays an ordinary, routable provider, as in Plano.
* Plano sections this service does not implement (tracing, prompt_targets, agents, ...) and
  Plano keys inside known sections that it ignores (``routing.routing_budget``, most
  ``overrides``) are accepted with a warning; their contents are not validated. Any other key
  is an error.
* Per-provider ``routing_preferences`` (the v0.3.0 style) become top-level routes whose model
  is that provider; one route name on several providers gives one route with all of them, in
  provider order. Each provider using that style gets a deprecation warning.

Differences from Plano: wildcard models (``openai/*``) are not supported; two providers may
share a bare model id (references to it must then use ``provider/model``); ``base_url`` is
filled in from a small table of well-known endpoints; versions newer than v0.4.0 load with a
warning; ``{type: cost, provider: custom, url, auth}`` is accepted as the newer spelling of
``cost_metrics``; ``routing.classifier`` and route ``examples`` are extensions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from plano_extproc.config.environment import Environment
from plano_extproc.config.errors import ConfigError, ConfigIssue
from plano_extproc.config.listeners import read_listeners
from plano_extproc.config.metrics_sources import read_metrics_sources
from plano_extproc.config.model import (
    Config,
)
from plano_extproc.config.providers import read_aliases, read_providers
from plano_extproc.config.reader import (
    Issues,
    Section,
    kind_of,
    open_section,
    parse_yaml,
)
from plano_extproc.config.routes import (
    migrated_routes,
    read_routes,
)
from plano_extproc.config.routing import read_routing
from plano_extproc.config.spec import (
    FORMAT_VERSION,
    TOP_LEVEL,
)
from plano_extproc.config.state import read_state_storage
from plano_extproc.config.tracing import read_tracing
from plano_extproc.config.values import parse_version


def load_config(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    require_keys: bool = True,
) -> Config:
    """Reads and validates the configuration file at `path`; raises `ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError([ConfigIssue("", f"cannot read {path}: {reason}")]) from error
    return load_config_text(text, os.environ if env is None else env, require_keys=require_keys)


def load_config_text(
    text: str, env: Mapping[str, str] = os.environ, *, require_keys: bool = True
) -> Config:
    """Validates configuration YAML held in a string; raises `ConfigError`."""
    issues = Issues()
    document = parse_yaml(text, issues)
    config = _Loader(Environment(env, require_keys), issues).load(document)
    if config is None or issues.errors:
        raise ConfigError(issues.errors)
    return config


class _Loader:
    """Builds a `Config` from a parsed document, reporting into `issues` as it goes."""

    def __init__(self, env: Environment, issues: Issues) -> None:
        self.env = env
        self.issues = issues

    def load(self, document: object) -> Config | None:
        if document is None:
            self.issues.error("", "the configuration is empty")
            return None
        if not isinstance(document, dict):
            self.issues.error("", f"the configuration must be a mapping, not {kind_of(document)}")
            return None
        top = open_section(document, "", TOP_LEVEL, self.issues)
        assert top is not None  # a mapping always opens
        version_text, version = self._version(top)
        listeners = read_listeners(top)
        parsed = read_providers(top, self.env)
        providers = parsed.providers
        sources = read_metrics_sources(top, providers, self.env)
        routes = read_routes(top, version_text, version, providers, sources)
        routes += migrated_routes(parsed.legacy_routes, routes, self.issues)
        aliases = read_aliases(top, providers)
        routing = read_routing(top, providers, self.env)
        state_storage = read_state_storage(top, self.env)
        tracing = read_tracing(top, self.env)
        return Config(
            version=version_text,
            providers=providers,
            routes=tuple(routes),
            aliases=MappingProxyType(aliases),
            metrics_sources=sources,
            routing=routing,
            listeners=listeners,
            state_storage=state_storage,
            tracing=tracing,
            warnings=tuple(str(warning) for warning in self.issues.warnings),
        )

    # -- version -----------------------------------------------------------

    def _version(self, top: Section) -> tuple[str, tuple[int, int, int] | None]:
        text = top.text("version")
        if text is None:
            return "", None
        version = parse_version(text)
        if version is None:
            self.issues.error(top.where("version"), f"'{text}' is not a version such as v0.4.0")
        elif version > FORMAT_VERSION:
            self.issues.warn(
                top.where("version"), f"{text} is newer than v0.4.0, the format implemented here"
            )
        return text, version

    # -- routing settings ----------------------------------------------------------------
