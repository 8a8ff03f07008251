"""`auth.jwt` through the real Envoy (header_mutation + jwt_authn) and the real ext_proc: a token
Envoy verified is the client's identity; any other token, and a forged payload header, end as
the ext_proc's 401 in the client API's own error shape; a key or token reaches no provider.

One gateway per JWKS source for the whole module (keys in a local file; keys fetched from an
HTTP server), with the failure throttle off, since every refusal here comes from one address.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from plano_extproc.contract.headers import IDENTITY_HEADER, JWT_PAYLOAD_HEADER, TEAM_HEADER
from tests.support.gateway import TEST_KEYS, Gateway, running_gateway
from tests.support.jwt_keys import SigningKey, claims, serving_jwks, write_jwks
from tests.support.upstream import UpstreamServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
]

ISSUER = "https://idp.plano.test"
AUDIENCE = "plano"
GATEWAY_KEY = "gw-key-0001"
ALLOWED = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-20250514"]
CLAUDE = "claude-sonnet-4-20250514"
SMALL_TALK = [{"role": "user", "content": "hello there"}]
# Nothing that only the gateway and the client may know goes to a provider.
NEVER_FORWARDED = (JWT_PAYLOAD_HEADER, IDENTITY_HEADER, TEAM_HEADER)
JWKS_FETCH_WAIT_SECONDS = 30.0


def auth_section(key_source: dict[str, str]) -> dict[str, Any]:
    jwt = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        **key_source,
        "team_claim": "org",
        "models_claim": "models",
    }
    key = {"name": "ci-bot", "key_sha256": hashlib.sha256(GATEWAY_KEY.encode()).hexdigest()}
    return {"auth": {"api_keys": [key], "jwt": jwt, "max_failures_per_minute": 0}}


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def jwt_gateway_module(
    signing_key: SigningKey,
    upstream_server: UpstreamServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("jwt")
    jwks_file = write_jwks(workdir / "jwks.json", signing_key)
    overrides = auth_section({"jwks_file": str(jwks_file)})
    with running_gateway(workdir, upstream_server, overrides=overrides) as gateway:
        yield gateway


@pytest.fixture
def jwt_gateway(jwt_gateway_module: Gateway, upstream: UpstreamServer) -> Gateway:
    return jwt_gateway_module


def token_for(key: SigningKey, **overrides: Any) -> str:
    payload = claims(issuer=ISSUER, audience=AUDIENCE, sub="alice", org="research")
    payload["models"] = ALLOWED
    payload.update(overrides)
    return key.token({k: v for k, v in payload.items() if v is not None})


def openai_client(gateway: Gateway, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=api_key, max_retries=0, timeout=30
    )


def chat(gateway: Gateway, token: str, model: str = "openai/gpt-4o-mini", **headers: str) -> Any:
    return httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": model, "messages": SMALL_TALK},
        headers={"authorization": f"Bearer {token}", **headers},
        timeout=30,
    )


def assert_nothing_of_the_client_forwarded(upstream: UpstreamServer, token: str) -> None:
    (forwarded,) = upstream.requests
    for name in NEVER_FORWARDED:
        assert name not in forwarded.headers
    assert token not in str(dict(forwarded.headers))


def assert_openai_401(response: httpx.Response, code: str = "invalid_api_key") -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("authentication_error", code)


def test_openai_sdk_with_a_valid_token(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    token = token_for(signing_key)

    completion = openai_client(jwt_gateway, token).chat.completions.create(
        model="openai/gpt-4o-mini", messages=SMALL_TALK
    )

    assert completion.model == "gpt-4o-mini"
    assert_nothing_of_the_client_forwarded(upstream, token)
    forwarded = upstream.requests[0]
    assert forwarded.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_OPENAI_KEY']}"


def test_anthropic_sdk_with_a_valid_token(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    token = token_for(signing_key)
    client = anthropic.Anthropic(
        base_url=jwt_gateway.base_url, api_key=token, max_retries=0, timeout=30
    )

    message = client.messages.create(model=CLAUDE, max_tokens=32, messages=SMALL_TALK)

    assert message.model == CLAUDE
    assert_nothing_of_the_client_forwarded(upstream, token)
    assert upstream.requests[0].headers["x-api-key"] == TEST_KEYS["TEST_ANTHROPIC_KEY"]


def messages(gateway: Gateway, token: str) -> httpx.Response:
    """Anthropic's own header for the key (older SDKs, curl); recent SDKs send a bearer token."""
    return httpx.post(
        f"{gateway.base_url}/v1/messages",
        json={"model": CLAUDE, "max_tokens": 32, "messages": SMALL_TALK},
        headers={"x-api-key": token, "anthropic-version": "2023-06-01"},
        timeout=30,
    )


def test_a_token_in_x_api_key(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    token = token_for(signing_key)

    response = messages(jwt_gateway, token)

    assert response.status_code == 200, response.text
    assert_nothing_of_the_client_forwarded(upstream, token)
    assert upstream.requests[0].headers["x-api-key"] == TEST_KEYS["TEST_ANTHROPIC_KEY"]


def test_the_bearer_scheme_in_lower_case(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    token = token_for(signing_key)
    response = httpx.post(
        f"{jwt_gateway.base_url}/v1/chat/completions",
        json={"model": "openai/gpt-4o-mini", "messages": SMALL_TALK},
        headers={"authorization": f"bearer {token}"},
        timeout=30,
    )

    assert response.status_code == 200, response.text
    assert_nothing_of_the_client_forwarded(upstream, token)


def test_a_gateway_api_key_passes_jwt_authn_untouched(
    jwt_gateway: Gateway, upstream: UpstreamServer
) -> None:
    response = chat(jwt_gateway, GATEWAY_KEY)

    assert response.status_code == 200, response.text
    assert_nothing_of_the_client_forwarded(upstream, GATEWAY_KEY)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 600, "iat": int(time.time()) - 4200},
        {"aud": "another-service"},
        {"iss": "https://evil.example.com"},
    ],
    ids=["expired", "wrong_audience", "wrong_issuer"],
)
def test_a_token_envoy_rejects_is_the_ext_procs_401(
    jwt_gateway: Gateway,
    signing_key: SigningKey,
    upstream: UpstreamServer,
    overrides: dict[str, Any],
) -> None:
    assert_openai_401(chat(jwt_gateway, token_for(signing_key, **overrides)))
    assert upstream.requests == []


def test_a_token_signed_by_another_key_is_refused(
    jwt_gateway: Gateway, upstream: UpstreamServer
) -> None:
    assert_openai_401(chat(jwt_gateway, token_for(SigningKey.generate())))
    assert upstream.requests == []


def test_an_expired_token_in_x_api_key_is_refused_in_anthropics_shape(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    token = token_for(signing_key, exp=int(time.time()) - 600, iat=int(time.time()) - 4200)

    response = messages(jwt_gateway, token)

    assert response.status_code == 401
    assert response.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid API key or token"},
    }
    assert upstream.requests == []


def forged_payload(**claimed: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(claimed).encode()).decode().rstrip("=")


def test_a_forged_payload_header_without_credentials_is_refused(
    jwt_gateway: Gateway, upstream: UpstreamServer
) -> None:
    response = httpx.post(
        f"{jwt_gateway.base_url}/v1/chat/completions",
        json={"model": "openai/gpt-4o-mini", "messages": SMALL_TALK},
        headers={JWT_PAYLOAD_HEADER: forged_payload(sub="mallory", models=ALLOWED)},
        timeout=30,
    )

    assert_openai_401(response, "missing_api_key")
    assert upstream.requests == []


def test_a_forged_payload_header_with_a_bad_token_is_refused(
    jwt_gateway: Gateway, upstream: UpstreamServer
) -> None:
    forged = forged_payload(iss=ISSUER, aud=AUDIENCE, sub="mallory")
    response = chat(jwt_gateway, "not-a-token", **{JWT_PAYLOAD_HEADER: forged})

    assert_openai_401(response)
    assert upstream.requests == []


def test_a_forged_payload_header_beside_a_valid_token_is_replaced(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    forged = forged_payload(iss=ISSUER, aud=AUDIENCE, sub="mallory", models=["openai/gpt-4o"])
    token = token_for(signing_key)

    # The forged claims would allow gpt-4o; the verified token's do not.
    refused = chat(jwt_gateway, token, "openai/gpt-4o", **{JWT_PAYLOAD_HEADER: forged})
    allowed = chat(jwt_gateway, token, **{JWT_PAYLOAD_HEADER: forged})

    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "model_not_allowed"
    assert allowed.status_code == 200, allowed.text
    assert_nothing_of_the_client_forwarded(upstream, token)


def test_a_token_without_the_name_claim_is_refused(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    assert_openai_401(chat(jwt_gateway, token_for(signing_key, sub=None)), "missing_identity_claim")
    assert upstream.requests == []


def test_the_models_claim_limits_the_models(
    jwt_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    client = openai_client(jwt_gateway, token_for(signing_key, models=["openai/gpt-4o-mini"]))

    with pytest.raises(openai.PermissionDeniedError) as refused:
        client.chat.completions.create(model="openai/gpt-4o", messages=SMALL_TALK)

    assert refused.value.status_code == 403
    assert refused.value.code == "model_not_allowed"
    assert upstream.requests == []
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=SMALL_TALK)
    assert [r.json["model"] for r in upstream.requests] == ["gpt-4o-mini"]


@pytest.fixture(scope="module")
def remote_jwks_gateway(
    signing_key: SigningKey,
    upstream_server: UpstreamServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("jwt-remote")
    with serving_jwks(signing_key) as jwks_uri:
        overrides = auth_section({"jwks_uri": jwks_uri})
        with running_gateway(workdir, upstream_server, overrides=overrides) as gateway:
            wait_for_jwks(gateway)
            yield gateway


def wait_for_jwks(gateway: Gateway) -> None:
    """The listener starts before the first fetch (fast_listener); tokens work after it."""
    deadline = time.monotonic() + JWKS_FETCH_WAIT_SECONDS
    while time.monotonic() < deadline:
        stats = httpx.get(f"{gateway.admin_url}/stats", params={"filter": "jwks_fetch"}).text
        if any(line.endswith("jwks_fetch_success: 1") for line in stats.splitlines()):
            return
        time.sleep(0.1)
    pytest.fail(f"Envoy did not fetch the JWKS:\n{stats}\n{gateway.log_tails()}")


def test_keys_fetched_from_a_jwks_uri(
    remote_jwks_gateway: Gateway, signing_key: SigningKey, upstream: UpstreamServer
) -> None:
    token = token_for(signing_key)

    assert chat(remote_jwks_gateway, token).status_code == 200
    assert_nothing_of_the_client_forwarded(upstream, token)
    assert_openai_401(chat(remote_jwks_gateway, token_for(SigningKey.generate())))
