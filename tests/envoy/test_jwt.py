"""The filters and cluster generated for `auth.jwt`, and their acceptance by the real Envoy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap
from envoy_data_plane.envoy.config.cluster.v3 import ClusterDiscoveryType
from envoy_data_plane.envoy.extensions.filters.http.header_mutation.v3 import HeaderMutation
from envoy_data_plane.envoy.extensions.filters.http.jwt_authn.v3 import (
    JwtAuthentication,
    JwtProvider,
)

from plano_extproc.config import Config
from plano_extproc.contract.clusters import EXTPROC_FILTER
from plano_extproc.contract.headers import JWT_PAYLOAD_HEADER
from plano_extproc.envoy.jwt import JWKS_CLUSTER, JWT_PROVIDER
from plano_extproc.envoy.render import build_bootstrap, render_envoy_yaml
from tests.envoy.support import ENVOY, LOCAL_PROVIDERS, config_from, validate
from tests.envoy.test_render import clusters, endpoints, manager, tls_context, unpack
from tests.support.jwt_keys import SigningKey, write_jwks

ISSUER = "https://idp.example.com"
REMOTE_JWKS = "https://idp.example.com/.well-known/jwks.json"


def jwt_config(source: str, *extra: str) -> Config:
    lines = "".join(f"    {line}\n" for line in (f"issuer: {ISSUER}", source, *extra))
    return config_from(LOCAL_PROVIDERS + f"auth:\n  jwt:\n{lines}")


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jwks(tmp_path_factory.mktemp("jwks") / "jwks.json", SigningKey.generate())


@pytest.fixture(scope="module")
def local(jwks_file: Path) -> Bootstrap:
    return build_bootstrap(jwt_config(f"jwks_file: {jwks_file}", "audiences: [plano, other]"))


@pytest.fixture(scope="module")
def remote() -> Bootstrap:
    return build_bootstrap(jwt_config(f"jwks_uri: {REMOTE_JWKS}"), ca_bundle="/ca.pem")


def authentication(bootstrap: Bootstrap) -> JwtAuthentication:
    return unpack(manager(bootstrap).http_filters[1].typed_config, JwtAuthentication)


def provider(bootstrap: Bootstrap) -> JwtProvider:
    providers = authentication(bootstrap).providers
    assert list(providers) == [JWT_PROVIDER]
    return providers[JWT_PROVIDER]


def test_client_copy_removed_then_token_checked_before_everything_else(local: Bootstrap) -> None:
    names = [f.name for f in manager(local).http_filters]
    assert names[:4] == [
        "envoy.filters.http.header_mutation",
        "envoy.filters.http.jwt_authn",
        "envoy.filters.http.buffer",
        EXTPROC_FILTER,
    ]
    removal = unpack(manager(local).http_filters[0].typed_config, HeaderMutation)
    (mutation,) = removal.mutations.request_mutations
    assert mutation.remove == JWT_PAYLOAD_HEADER
    assert removal.mutations.response_mutations == []


def test_every_path_passes_with_a_verified_token_or_none(local: Bootstrap) -> None:
    (rule,) = authentication(local).rules
    assert rule.match.prefix == "/"
    verified, otherwise = rule.requires.requires_any.requirements
    assert verified.provider_name == JWT_PROVIDER
    assert otherwise.allow_missing_or_failed is not None


def test_provider_hands_the_payload_on_and_keeps_the_token(local: Bootstrap) -> None:
    checked = provider(local)
    assert checked.issuer == ISSUER
    assert checked.audiences == ["plano", "other"]
    assert checked.forward is False
    assert checked.forward_payload_header == JWT_PAYLOAD_HEADER
    assert [(h.name, h.value_prefix) for h in checked.from_headers] == [
        ("authorization", "Bearer "),
        ("authorization", "bearer "),
        ("x-api-key", ""),
    ]


def test_a_jwks_file_is_read_locally(local: Bootstrap, jwks_file: Path) -> None:
    checked = provider(local)
    assert checked.local_jwks.filename == str(jwks_file)
    assert checked.remote_jwks is None
    assert JWKS_CLUSTER not in clusters(local)


def test_a_jwks_uri_is_fetched_without_holding_the_listener(remote: Bootstrap) -> None:
    fetched = provider(remote).remote_jwks
    assert provider(remote).local_jwks is None
    assert fetched.http_uri.uri == REMOTE_JWKS
    assert fetched.http_uri.cluster == JWKS_CLUSTER
    assert fetched.async_fetch.fast_listener is True
    assert fetched.cache_duration == timedelta(minutes=5)


def test_a_jwks_uri_gets_a_verified_tls_cluster(remote: Bootstrap) -> None:
    jwks = clusters(remote)[JWKS_CLUSTER]
    assert jwks.type is ClusterDiscoveryType.LOGICAL_DNS
    assert endpoints(jwks) == [("idp.example.com", 443)]
    tls = tls_context(jwks)
    assert tls.sni == "idp.example.com"
    validation = tls.common_tls_context.validation_context
    assert validation.trusted_ca.filename == "/ca.pem"
    assert [m.matcher.exact for m in validation.match_typed_subject_alt_names] == [
        "idp.example.com"
    ]


def test_a_plain_http_jwks_uri_at_an_address() -> None:
    bootstrap = build_bootstrap(jwt_config("jwks_uri: http://10.0.0.5:8080/jwks"))
    jwks = clusters(bootstrap)[JWKS_CLUSTER]
    assert jwks.type is ClusterDiscoveryType.STATIC
    assert endpoints(jwks) == [("10.0.0.5", 8080)]
    assert jwks.transport_socket is None


def test_without_jwt_nothing_is_added(jwks_file: Path) -> None:
    keys_only = config_from(
        LOCAL_PROVIDERS + "auth:\n  api_keys:\n    - {name: a, key_sha256: '" + "0" * 64 + "'}\n"
    )
    for config in (keys_only, config_from(LOCAL_PROVIDERS)):
        bootstrap = build_bootstrap(config)
        assert manager(bootstrap).http_filters[0].name == "envoy.filters.http.buffer"
        assert JWKS_CLUSTER not in clusters(bootstrap)
    assert render_envoy_yaml(keys_only) == render_envoy_yaml(config_from(LOCAL_PROVIDERS))


@pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed")
@pytest.mark.parametrize(
    "source",
    ["jwks_file", f"jwks_uri: {REMOTE_JWKS}", "jwks_uri: http://127.0.0.1:9/jwks.json"],
    ids=["jwks_file", "https_jwks_uri", "http_jwks_uri"],
)
def test_envoy_accepts_the_jwt_filters(source: str, jwks_file: Path, tmp_path: Path) -> None:
    if source == "jwks_file":
        source = f"jwks_file: {jwks_file}"
    config_file = tmp_path / "envoy.yaml"
    config_file.write_text(render_envoy_yaml(jwt_config(source, "audiences: [plano]")))
    result = validate(config_file)
    assert result.returncode == 0, result.stdout + result.stderr
