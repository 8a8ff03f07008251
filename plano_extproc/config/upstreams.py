"""Where each provider lives: the Envoy cluster, host and path prefix its requests go to.

Derived from the config alone, so the Envoy config generator and the ext_proc compute the same
cluster names independently. Providers sharing an endpoint (every `openai/*` model) share one
cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlsplit

from plano_extproc.config.model import Config, ModelProvider

_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Upstream:
    cluster: str
    scheme: str
    host: str
    port: int
    # The base_url's path, which replaces the provider's default prefix (providers/paths.py).
    path_prefix: str
    authority: str

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def _endpoint(provider: ModelProvider) -> tuple[str, str, int, str, str]:
    if provider.base_url is None:
        raise ValueError(f"provider '{provider.name}' has no base_url")
    parts = urlsplit(provider.base_url)
    scheme = parts.scheme
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    default_port = parts.port is None
    authority = provider.http_host or (host if default_port else f"{host}:{port}")
    return scheme, host, port, parts.path.rstrip("/"), authority


def _cluster_name(scheme: str, host: str, port: int, taken: set[str]) -> str:
    base = f"upstream_{_UNSAFE.sub('_', host.lower()).strip('_')}_{port}"
    if scheme == "https":
        base += "_tls"
    name, index = base, 1
    while name in taken:
        index += 1
        name = f"{base}_{index}"
    return name


def upstreams_for(config: Config) -> Mapping[str, Upstream]:
    """Provider name → Upstream, in provider order."""
    clusters: dict[tuple[str, str, int, str], str] = {}
    result: dict[str, Upstream] = {}
    for provider in config.providers:
        scheme, host, port, prefix, authority = _endpoint(provider)
        key = (scheme, host, port, authority)
        if key not in clusters:
            clusters[key] = _cluster_name(scheme, host, port, set(clusters.values()))
        result[provider.name] = Upstream(clusters[key], scheme, host, port, prefix, authority)
    return MappingProxyType(result)
