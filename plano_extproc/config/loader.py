"""Loads a Plano v0.4.0 configuration file into the typed `Config`.

Every problem of a file is collected and raised together as one `ConfigError`; nothing stops
at the first. Notes that do not prevent loading end up in `Config.warnings`.

Each section is read by its own module (`listeners`, `providers`, `metrics_sources`, `routes`,
`routing`, `state`, `tracing`, `ratelimits`, and ours, `auth`), whose notes give its policies
where the format leaves room for choice; how keys and URLs take values from the environment is
`environment.py`.
Plano sections this service does not implement (prompt_targets, agents, ...) and Plano keys
inside known sections that it ignores (``routing.routing_budget``, most ``overrides``) are
accepted with a warning; their contents are not validated. Any other key is an error.

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

from plano_extproc.config.auth import read_auth
from plano_extproc.config.environment import Environment
from plano_extproc.config.errors import ConfigError, ConfigIssue
from plano_extproc.config.listeners import read_listeners
from plano_extproc.config.metrics_sources import read_metrics_sources
from plano_extproc.config.model import Config
from plano_extproc.config.providers import read_aliases, read_providers
from plano_extproc.config.ratelimits import read_ratelimits
from plano_extproc.config.reader import Issues, Section, kind_of, open_section, parse_yaml
from plano_extproc.config.retry_policy import check_attempt_timeouts
from plano_extproc.config.routes import migrated_routes, read_routes
from plano_extproc.config.routing import read_routing
from plano_extproc.config.spec import FORMAT_VERSION, TOP_LEVEL
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
    top = _top_level(parse_yaml(text, issues), issues)
    config = None if top is None else _read_config(top, Environment(env, require_keys))
    if config is None or issues.errors:
        raise ConfigError(issues.errors)
    return config


def _top_level(document: object, issues: Issues) -> Section | None:
    """The document's top-level mapping; None, after reporting, when it is not one."""
    if document is None:
        issues.error("", "the configuration is empty")
        return None
    if not isinstance(document, dict):
        issues.error("", f"the configuration must be a mapping, not {kind_of(document)}")
        return None
    return open_section(document, "", TOP_LEVEL, issues)


def _read_config(top: Section, env: Environment) -> Config:
    """Reads the sections in turn (later ones check references to earlier ones)."""
    version_text, version = _read_version(top)
    listeners = read_listeners(top)
    parsed = read_providers(top, env)
    providers = parsed.providers
    policies = (p.retry_policy for p in providers if p.retry_policy is not None)
    check_attempt_timeouts(policies, listeners[0].timeout_seconds, top.issues)
    sources = read_metrics_sources(top, providers, env)
    routes = read_routes(top, version_text, version, providers, sources)
    routes += migrated_routes(parsed.legacy_routes, routes, top.issues)
    aliases = read_aliases(top, providers)
    ratelimits = read_ratelimits(top, providers, aliases)
    routing = read_routing(top, providers, env)
    state_storage = read_state_storage(top, env)
    tracing = read_tracing(top, env)
    auth = read_auth(top, providers, aliases, env)
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
        auth=auth,
        ratelimits=ratelimits,
        warnings=tuple(str(warning) for warning in top.issues.warnings),
    )


def _read_version(top: Section) -> tuple[str, tuple[int, int, int] | None]:
    """(the version as written, parsed); versions newer than the format load with a warning."""
    text = top.text("version")
    if text is None:
        return "", None
    version = parse_version(text)
    if version is None:
        top.issues.error(top.where("version"), f"'{text}' is not a version such as v0.4.0")
    elif version > FORMAT_VERSION:
        top.issues.warn(
            top.where("version"), f"{text} is newer than v0.4.0, the format implemented here"
        )
    return text, version
