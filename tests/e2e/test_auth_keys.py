"""Gateway API keys (config `auth`) through real Envoy, with the official SDKs: refusals in each
API's error shape, the provider's key in place of the client's, a forged identity replaced,
and one address's guessing throttled."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest

from tests.support.gateway import TEST_KEYS, Gateway, running_gateway
from tests.support.upstream import UpstreamServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
]

ALL, MINI, EXPIRED = "pk-e2e-everything", "pk-e2e-mini-only", "pk-e2e-expired"
CLAUDE = "claude-sonnet-4-20250514"
HELLO = [{"role": "user", "content": "hello there"}]


def _entry(key: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "key_sha256": hashlib.sha256(key.encode()).hexdigest(), **fields}


def auth_section(max_failures_per_minute: int) -> dict[str, Any]:
    return {
        "api_keys": [
            _entry(ALL, "team-a", team="platform"),
            _entry(MINI, "mini", models=["fast-model"]),
            _entry(EXPIRED, "old", expires="2020-01-01"),
        ],
        "max_failures_per_minute": max_failures_per_minute,
    }


@pytest.fixture(scope="module")
def keyed_gateway_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    # Every test's client is 127.0.0.1: the throttle is off here, and on in its own test.
    overrides = {"auth": auth_section(0)}
    with running_gateway(
        tmp_path_factory.mktemp("keys"), upstream_server, overrides=overrides
    ) as gateway:
        yield gateway


@pytest.fixture
def keyed(keyed_gateway_module: Gateway, upstream: UpstreamServer) -> Gateway:
    return keyed_gateway_module


def openai_client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def anthropic_client(gateway: Gateway, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=key, max_retries=0)


def test_no_key_is_a_401_in_openais_shape(keyed: Gateway, upstream: UpstreamServer) -> None:
    response = httpx.post(
        f"{keyed.base_url}/v1/chat/completions",
        json={"model": "openai/gpt-4o-mini", "messages": HELLO},
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "missing_api_key"
    assert upstream.requests == []


def test_wrong_and_expired_keys_are_401s_for_both_sdks(
    keyed: Gateway, upstream: UpstreamServer
) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        openai_client(keyed, "pk-wrong").chat.completions.create(
            model="openai/gpt-4o-mini", messages=HELLO
        )
    with pytest.raises(anthropic.AuthenticationError) as expired:
        anthropic_client(keyed, EXPIRED).messages.create(
            model=CLAUDE, max_tokens=16, messages=HELLO
        )

    assert wrong.value.code == "invalid_api_key"
    assert expired.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "the API key has expired"},
    }
    assert upstream.requests == []


def test_a_key_not_allowed_the_model_is_a_403(keyed: Gateway, upstream: UpstreamServer) -> None:
    with pytest.raises(openai.PermissionDeniedError) as openai_refused:
        openai_client(keyed, MINI).chat.completions.create(model="openai/gpt-4o", messages=HELLO)
    with pytest.raises(anthropic.PermissionDeniedError):
        anthropic_client(keyed, MINI).messages.create(model=CLAUDE, max_tokens=16, messages=HELLO)

    assert openai_refused.value.code == "model_not_allowed"
    assert upstream.requests == []


def test_a_valid_key_is_answered_with_the_providers_key_injected(
    keyed: Gateway, upstream: UpstreamServer
) -> None:
    completion = openai_client(keyed, MINI).chat.completions.create(
        model="fast-model", messages=HELLO
    )
    message = anthropic_client(keyed, ALL).messages.create(
        model=CLAUDE, max_tokens=16, messages=HELLO
    )

    assert completion.choices[0].message.content
    assert message.content
    to_openai, to_anthropic = upstream.requests
    assert to_openai.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_OPENAI_KEY']}"
    assert to_anthropic.headers["x-api-key"] == TEST_KEYS["TEST_ANTHROPIC_KEY"]
    for forwarded in (to_openai, to_anthropic):
        assert not {MINI, ALL} & set(forwarded.headers.values())
        assert "pk-e2e" not in str(dict(forwarded.headers))


def test_a_forged_identity_header_is_replaced_and_never_forwarded(
    keyed: Gateway, upstream: UpstreamServer
) -> None:
    forged = {"x-plano-identity": "admin", "x-plano-team": "root"}
    client = openai.OpenAI(
        base_url=f"{keyed.base_url}/v1", api_key=ALL, max_retries=0, default_headers=forged
    )

    client.chat.completions.create(model="openai/gpt-4o-mini", messages=HELLO)

    (forwarded,) = upstream.requests
    assert "x-plano-identity" not in forwarded.headers
    assert "x-plano-team" not in forwarded.headers


def test_decisions_and_the_model_list_need_a_key_too(keyed: Gateway) -> None:
    base = keyed.base_url
    body = {"messages": [{"role": "user", "content": "Write a Python function"}]}

    anonymous = httpx.post(f"{base}/routing/v1/chat/completions", json=body)
    decided = httpx.post(
        f"{base}/routing/v1/chat/completions", json=body, headers={"x-api-key": ALL}
    )
    listed = openai_client(keyed, MINI).models.list()

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["details"]["reason"] == "missing_api_key"
    assert decided.status_code == 200
    assert decided.json()["route"] == "code_generation"
    assert [model.id for model in listed.data] == ["openai/gpt-4o-mini", "fast-model"]


def test_guessing_from_one_address_is_throttled_and_the_log_names_identities(
    upstream: UpstreamServer, tmp_path: Path
) -> None:
    overrides = {"auth": auth_section(3)}
    with running_gateway(tmp_path, upstream, overrides=overrides) as gateway:
        openai_client(gateway, ALL).chat.completions.create(
            model="openai/gpt-4o-mini", messages=HELLO
        )
        guesses = [
            httpx.post(
                f"{gateway.base_url}/v1/messages",
                json={"model": CLAUDE, "max_tokens": 8, "messages": HELLO},
                headers={"x-api-key": f"guess-{n}"},
            )
            for n in range(4)
        ]
        then_right = httpx.post(
            f"{gateway.base_url}/v1/messages",
            json={"model": CLAUDE, "max_tokens": 8, "messages": HELLO},
            headers={"x-api-key": ALL},
        )

    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert then_right.status_code == 429
    assert 0 < int(then_right.headers["retry-after"]) <= 60
    assert then_right.json()["error"]["type"] == "rate_limit_error"
    assert len(upstream.requests) == 1
    # Envoy flushes its access log when it stops.
    log = [
        orjson.loads(line)
        for line in gateway.envoy.process.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    served = [entry for entry in log if entry["path"] == "/v1/chat/completions"]
    refused = [entry for entry in log if entry["path"] == "/v1/messages"]
    assert [entry["identity"] for entry in served] == ["team-a"]
    assert {entry["identity"] for entry in refused} == {None}
    assert [entry["details"] for entry in refused] == [
        *["plano_auth_invalid_api_key"] * 3,
        *["plano_auth_authentication_throttled"] * 2,
    ]
