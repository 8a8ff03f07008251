from __future__ import annotations

import base64
import datetime as dt
import hashlib

import orjson

from plano_extproc.auth import Authenticator, Denial, Identity
from plano_extproc.auth.authenticator import client_address, presented_key
from plano_extproc.auth.identity import Credential
from plano_extproc.config.model import (
    ApiKeyEntry,
    AuthSettings,
    JwtSettings,
    ModelAllowance,
)

NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
ALLOWANCE = ModelAllowance(frozenset({"openai/gpt-4o"}))


def key_entry(key: str, name: str, **options: object) -> ApiKeyEntry:
    return ApiKeyEntry(name, hashlib.sha256(key.encode()).digest(), **options)  # type: ignore[arg-type]


def authenticator(jwt: JwtSettings | None = None, limit: int = 10) -> Authenticator:
    keys = (
        key_entry("pk-a", "team-a", team="platform", models=ALLOWANCE),
        key_entry("pk-old", "old", expires=dt.date(2026, 12, 31)),
    )
    settings = AuthSettings(api_keys=keys, jwt=jwt, max_failures_per_minute=limit)
    return Authenticator(settings, {"fast": "openai/gpt-4o-mini"})


def payload(claims: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")


def test_a_bearer_key_and_an_x_api_key_name_the_same_identity() -> None:
    auth = authenticator()
    expected = Identity("team-a", Credential.API_KEY, "platform", ALLOWANCE)

    assert auth.authenticate({"authorization": "Bearer pk-a"}, NOW) == expected
    assert auth.authenticate({"authorization": "bearer  pk-a "}, NOW) == expected
    assert auth.authenticate({"x-api-key": "pk-a"}, NOW) == expected


def test_missing_unknown_and_expired_keys_are_refused_with_their_reason() -> None:
    auth = authenticator()

    def reason(headers: dict[str, str]) -> str:
        result = auth.authenticate(headers, NOW)
        assert isinstance(result, Denial)
        assert result.status == 401
        return result.reason

    assert reason({}) == "missing_api_key"
    assert reason({"authorization": "Basic cGs="}) == "missing_api_key"
    assert reason({"x-api-key": "pk-b"}) == "invalid_api_key"
    assert reason({"x-api-key": "pk-old"}) == "expired_api_key"


def test_an_expiring_key_works_through_its_last_day() -> None:
    auth = authenticator()
    last_second = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp()

    assert isinstance(auth.authenticate({"x-api-key": "pk-old"}, last_second), Identity)


def test_repeated_failures_from_one_address_are_throttled_whatever_it_sends() -> None:
    auth = authenticator(limit=3)
    attacker = {"x-forwarded-for": "1.2.3.4, 203.0.113.9"}
    for _ in range(3):
        auth.authenticate({**attacker, "x-api-key": "guess"}, NOW)

    refused = auth.authenticate({**attacker, "x-api-key": "pk-a"}, NOW + 1)
    assert isinstance(refused, Denial)
    assert (refused.status, refused.retry_after) == (429, 59)
    other = {"x-forwarded-for": "1.2.3.4, 203.0.113.10", "x-api-key": "pk-a"}
    assert isinstance(auth.authenticate(other, NOW + 1), Identity)


def test_the_client_address_is_the_hop_envoy_appended() -> None:
    assert client_address({"x-forwarded-for": "6.6.6.6, 10.1.2.3"}) == "10.1.2.3"
    assert client_address({"x-forwarded-for": "10.1.2.3"}) == "10.1.2.3"
    assert client_address({}) == "unknown"


def test_presented_key_prefers_the_bearer_token() -> None:
    assert presented_key({"authorization": "Bearer a", "x-api-key": "b"}) == "a"
    assert presented_key({"authorization": "Bearer ", "x-api-key": "b"}) is None
    assert presented_key({"x-api-key": "  "}) is None


JWT = JwtSettings(issuer="https://idp", team_claim="org", models_claim="models")


def test_a_verified_token_names_the_identity_from_its_claims() -> None:
    auth = authenticator(JWT)
    claims = {"sub": "alice", "org": "research", "models": "fast openai/gpt-4o"}

    identity = auth.authenticate({"x-plano-jwt-payload": payload(claims)}, NOW)

    assert identity == Identity(
        "alice",
        Credential.JWT,
        "research",
        ModelAllowance(frozenset({"openai/gpt-4o-mini", "openai/gpt-4o"})),
    )
    assert isinstance(identity, Identity)
    assert identity.metric_label == "jwt"


def test_a_token_without_the_models_claim_may_use_no_model() -> None:
    identity = authenticator(JWT).authenticate({"x-plano-jwt-payload": payload({"sub": "a"})}, NOW)

    assert isinstance(identity, Identity)
    assert identity.models == ModelAllowance(frozenset())


def test_a_token_without_a_name_or_an_unreadable_payload_is_refused() -> None:
    auth = authenticator(JWT)

    nameless = auth.authenticate({"x-plano-jwt-payload": payload({"org": "x"})}, NOW)
    garbage = auth.authenticate({"x-plano-jwt-payload": "%%%"}, NOW)
    not_object = auth.authenticate({"x-plano-jwt-payload": payload([1])}, NOW)  # type: ignore[arg-type]

    assert isinstance(nameless, Denial)
    assert nameless.reason == "missing_identity_claim"
    assert isinstance(garbage, Denial)
    assert garbage.reason == "invalid_api_key"
    assert isinstance(not_object, Denial)


def test_without_jwt_configured_a_payload_header_is_ignored() -> None:
    forged = {"x-plano-jwt-payload": payload({"sub": "admin"})}

    result = authenticator().authenticate(forged, NOW)

    assert isinstance(result, Denial)
    assert result.reason == "missing_api_key"
