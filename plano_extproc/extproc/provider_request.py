"""What a request becomes for one provider: its headers (cluster, credentials, path, length)
and its body (model set, routing fields dropped, or translated into the provider's API).

Used by the routing filter for a request sent once, and by the attempt filter for each attempt
of a request with a `retry_policy`. Everything that depends only on the config is built once
per provider (`ProviderPlan`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from plano_extproc.config.model import MAX_DERIVED_PROVIDERS, Config, ModelProvider
from plano_extproc.config.upstreams import Upstream, upstreams_for
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.clusters import FAILOVER_CLUSTER
from plano_extproc.contract.headers import CLUSTER_HEADER
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import HeaderValueOption
from plano_extproc.extproc.messages import set_header
from plano_extproc.providers.paths import provider_path, with_client_query
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.wire import (
    Transcript,
    Translation,
    needs_rewrite,
    rewrite_body,
    translate_request,
    upstream_translation,
    wire_api,
)

# Client credentials that never reach a provider unless it is configured with passthrough_auth.
CLIENT_CREDENTIAL_HEADERS = ("authorization", "x-api-key")


@dataclass(frozen=True, slots=True)
class ProviderPlan:
    """Per-provider request rewriting, computed at config load."""

    provider: ModelProvider
    upstream: Upstream
    # By the wire API a request is sent in: an Anthropic provider takes a bearer key on its
    # OpenAI-compatible endpoint and x-api-key on Messages.
    set_headers: Mapping[ProviderApi, tuple[HeaderValueOption, ...]]
    # The same, but to the failover cluster: a first attempt Envoy judges alone
    # (failover/first_attempt.py) goes there, rewritten for this provider.
    via_failover: Mapping[ProviderApi, tuple[HeaderValueOption, ...]]
    remove_headers: tuple[str, ...]
    missing_key_env: str | None
    # By the API of the body sent and whether the answer is streamed (Bedrock's path says).
    paths: Mapping[tuple[ClientApi, bool], str]


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    set_headers: list[HeaderValueOption]
    remove_headers: tuple[str, ...]
    body: bytes | None  # None: the client's bytes go upstream unchanged
    translation: Translation | None


def _credential_headers(provider: ModelProvider, wire: ProviderApi) -> tuple[tuple[str, str], ...]:
    if provider.passthrough_auth or provider.access_key is None:
        return ()
    return provider.family.credential_headers(wire, provider.access_key)


def provider_plan(provider: ModelProvider, upstream: Upstream) -> ProviderPlan:
    common = [(CLUSTER_HEADER, upstream.cluster), *provider.headers.items()]
    # A key written as $VAR whose variable is unset; a provider written without any key (a
    # local server) is sent requests without credentials, as Plano does.
    missing = (
        provider.access_key is None
        and provider.access_key_env is not None
        and not provider.passthrough_auth
    )
    by_wire = {
        wire: tuple(
            set_header(name, value)
            for name, value in (*common, *_credential_headers(provider, wire))
        )
        for wire in ProviderApi
    }
    to_failover = set_header(CLUSTER_HEADER, FAILOVER_CLUSTER)
    return ProviderPlan(
        provider=provider,
        upstream=upstream,
        set_headers=by_wire,
        via_failover={
            wire: (to_failover, *(h for h in headers if h.header.key != CLUSTER_HEADER))
            for wire, headers in by_wire.items()
        },
        remove_headers=() if provider.passthrough_auth else CLIENT_CREDENTIAL_HEADERS,
        missing_key_env=provider.access_key_env if missing else None,
        paths={
            (api, stream): provider_path(
                provider.family, upstream.path_prefix, api, model=provider.model_id, stream=stream
            )
            for api in ClientApi
            for stream in (False, True)
        },
    )


class ProviderPlans(Mapping[str, ProviderPlan]):
    """Plans by provider name: the declared providers', built at config load, and those of
    models served by a wildcard entry (`openai/gpt-5-pro` under `openai/*`), built on first
    use from the entry's upstream and remembered (bounded)."""

    def __init__(self, config: Config) -> None:
        self._providers = config.provider_by_name
        self._upstreams = upstreams_for(config)
        self._declared = {
            p.name: provider_plan(p, self._upstreams[p.name]) for p in config.providers
        }
        self._derived: dict[str, ProviderPlan] = {}

    def __getitem__(self, name: str) -> ProviderPlan:
        found = self._declared.get(name) or self._derived.get(name)
        if found is not None:
            return found
        provider = self._providers[name]  # KeyError: no provider serves `name`
        assert provider.wildcard_of is not None
        if len(self._derived) >= MAX_DERIVED_PROVIDERS:
            self._derived.pop(next(iter(self._derived)))
        plan = self._derived[name] = provider_plan(provider, self._upstreams[provider.wildcard_of])
        return plan

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)


def provider_request(
    plan: ProviderPlan,
    api: ClientApi,
    body: dict[str, Any],
    transcript: Callable[[], Transcript],
    *,
    raw_length: int,
    query: str,
    via_failover: bool = False,
) -> ProviderRequest:
    """`body` is the client's request as decoded (`raw_length` its size in bytes); `transcript`
    gives its conversation as read, asked for only when the request is translated;
    `via_failover`: the request goes to the failover cluster, rewritten for this provider."""
    provider = plan.provider
    translation = upstream_translation(api, provider)
    new_body: bytes | None
    if translation is None:
        upstream_api = api
        new_body = (
            rewrite_body(body, model=provider.model_id)
            if needs_rewrite(body, model=provider.model_id)
            else None
        )
    else:
        # Bedrock's path is its own whatever the body's API; the client's stands in for it.
        upstream_api = translation.upstream_body_api or api
        new_body = translate_request(translation, body, transcript(), model=provider.model_id)
    path = plan.paths[upstream_api, body.get("stream") is True]
    headers = plan.via_failover if via_failover else plan.set_headers
    set_headers = [
        *headers[wire_api(api, provider)],
        # The client's query string is kept (e.g. an Azure client's `api-version`).
        set_header(":path", with_client_query(path, query)),
        set_header("content-length", str(len(new_body) if new_body is not None else raw_length)),
    ]
    return ProviderRequest(set_headers, plan.remove_headers, new_body, translation)


def stale_headers(first: ProviderPlan, current: ProviderPlan, api: ClientApi) -> tuple[str, ...]:
    """What the routing filter set for the first model that another attempt's provider must
    not get (its credentials, its configured headers), on a request rewritten for that first
    model (failover/first_attempt.py): Envoy retries the request as the routing filter left it."""
    if first is current:
        return ()
    kept = {h.header.key for h in current.set_headers[wire_api(api, current.provider)]}
    return tuple(
        key
        for h in first.set_headers[wire_api(api, first.provider)]
        if (key := h.header.key) not in kept and not key.startswith(":")
    )
