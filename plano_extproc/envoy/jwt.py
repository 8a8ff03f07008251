"""Envoy's side of `auth.jwt`: jwt_authn verifies a client's token and hands the routing
ext_proc its payload in a header, which the ext_proc trusts (auth/authenticator.py).

Two filters lead the listener's chain. The first removes any client-sent copy of that header:
only jwt_authn may set it, and only for a token it verified. (Envoy 1.40's jwt_authn drops a
client's copy itself too; this removal depends neither on that nor on which rule matches.)
jwt_authn then lets every request through (`allow_missing_or_failed`): one without a token, or
with a gateway API key where a token would be, or with a token that fails (expired, another
audience or issuer, an unknown key), reaches the ext_proc without the header, which then takes
the credential for an API key and answers 401 in the client API's own error shape.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from envoy_data_plane.envoy.config.cluster import v3 as cluster
from envoy_data_plane.envoy.config.common.mutation_rules import v3 as mutation_rules
from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.config.route import v3 as route
from envoy_data_plane.envoy.extensions.filters.http.header_mutation import v3 as header_mutation
from envoy_data_plane.envoy.extensions.filters.http.jwt_authn import v3 as jwt_authn
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as hcm
from envoy_data_plane.google.protobuf import Empty

from plano_extproc.config.model import Config, JwtSettings
from plano_extproc.config.upstreams import Upstream
from plano_extproc.contract.headers import JWT_PAYLOAD_HEADER
from plano_extproc.envoy.clusters import provider_cluster
from plano_extproc.envoy.filters import typed_filter

HEADER_MUTATION_FILTER = "envoy.filters.http.header_mutation"
JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn"
JWT_PROVIDER = "plano_jwt"
JWKS_CLUSTER = "plano_jwks"
# Where a token may be: OpenAI's SDKs send the key as a bearer token, Anthropic's as x-api-key.
# Naming any location replaces jwt_authn's default (Authorization and `access_token`). Envoy
# matches a prefix case-sensitively; the scheme is not (the ext_proc reads either spelling).
TOKEN_HEADERS = (("authorization", "Bearer "), ("authorization", "bearer "), ("x-api-key", ""))
JWKS_FETCH_TIMEOUT = timedelta(seconds=5)
# A key the identity provider rotates in is seen within this; a token signed by a key not yet
# seen fails until then.
JWKS_CACHE_DURATION = timedelta(minutes=5)
JWKS_FAILED_REFETCH = timedelta(seconds=10)


def jwt_settings(config: Config) -> JwtSettings | None:
    return None if config.auth is None else config.auth.jwt


def jwt_filters(config: Config) -> list[hcm.HttpFilter]:
    """The filters that lead the listener's chain; none without `auth.jwt`."""
    settings = jwt_settings(config)
    if settings is None:
        return []
    return [
        typed_filter(HEADER_MUTATION_FILTER, payload_header_removal()),
        typed_filter(JWT_AUTHN_FILTER, jwt_authentication(settings)),
    ]


def payload_header_removal() -> header_mutation.HeaderMutation:
    removal = mutation_rules.HeaderMutation(remove=JWT_PAYLOAD_HEADER)
    return header_mutation.HeaderMutation(
        mutations=header_mutation.Mutations(request_mutations=[removal])
    )


def jwt_authentication(settings: JwtSettings) -> jwt_authn.JwtAuthentication:
    verified_or_not = jwt_authn.JwtRequirement(
        requires_any=jwt_authn.JwtRequirementOrList(
            requirements=[
                jwt_authn.JwtRequirement(provider_name=JWT_PROVIDER),
                jwt_authn.JwtRequirement(allow_missing_or_failed=Empty()),
            ]
        )
    )
    every_path = jwt_authn.RequirementRule(
        match=route.RouteMatch(prefix="/"), requires=verified_or_not
    )
    return jwt_authn.JwtAuthentication(
        providers={JWT_PROVIDER: _provider(settings)}, rules=[every_path]
    )


def _provider(settings: JwtSettings) -> jwt_authn.JwtProvider:
    local, remote = None, None
    if settings.jwks_file is not None:
        local = core.DataSource(filename=settings.jwks_file)
    else:
        remote = _remote_jwks(_jwks_uri(settings))
    return jwt_authn.JwtProvider(
        issuer=settings.issuer,
        audiences=list(settings.audiences),
        local_jwks=local,
        remote_jwks=remote,
        from_headers=[jwt_authn.JwtHeader(name=n, value_prefix=p) for n, p in TOKEN_HEADERS],
        # The token goes no further than the ext_proc, which removes it anyway.
        forward=False,
        forward_payload_header=JWT_PAYLOAD_HEADER,
    )


def _jwks_uri(settings: JwtSettings) -> str:
    if settings.jwks_uri is None:
        raise ValueError("auth.jwt needs jwks_file or jwks_uri")
    return settings.jwks_uri


def _remote_jwks(uri: str) -> jwt_authn.RemoteJwks:
    http_uri = core.HttpUri(uri=uri, cluster=JWKS_CLUSTER, timeout=JWKS_FETCH_TIMEOUT)
    # fast_listener: the listener starts without waiting for the first fetch; until it lands,
    # tokens fail (so 401) while API keys work.
    fetch = jwt_authn.JwksAsyncFetch(
        fast_listener=True, failed_refetch_duration=JWKS_FAILED_REFETCH
    )
    return jwt_authn.RemoteJwks(
        http_uri=http_uri, cache_duration=JWKS_CACHE_DURATION, async_fetch=fetch
    )


def jwks_clusters(config: Config, ca_bundle: str) -> list[cluster.Cluster]:
    """The JWKS host's cluster, built as a provider's (TLS verified against `ca_bundle` for
    https); none without a `jwks_uri`."""
    settings = jwt_settings(config)
    if settings is None or settings.jwks_uri is None:
        return []
    parts = urlsplit(settings.jwks_uri)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    endpoint = Upstream(JWKS_CLUSTER, parts.scheme, host, port, "", parts.netloc)
    return [provider_cluster(endpoint, ca_bundle)]
