"""The routing filter with `auth`: refusals in each API's error shape, the client's credential
and forged identity removed, and a key's model allowance on explicit and routed requests."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import orjson
import pytest

from plano_extproc.config import load_config_text
from plano_extproc.extproc.gateway import Gateway, PendingRequest
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingResponse
from plano_extproc.routing.router import Router
from tests.extproc.conftest import CONFIG, ENV
from tests.extproc.test_gateway import CODE_REQUEST, headers_set, immediate

PASSTHROUGH = """  - model: ollama/llama3.1
    base_url: http://127.0.0.1:11434
    passthrough_auth: true
"""
AUTH = f"""
auth:
  api_keys:
    - name: everything
      key_sha256: {hashlib.sha256(b"pk-all").hexdigest()}
      team: platform
    - name: anthropic-only
      key_sha256: {hashlib.sha256(b"pk-claude").hexdigest()}
      models: [anthropic/claude-sonnet-4-20250514]
    - name: mini-only
      key_sha256: {hashlib.sha256(b"pk-mini").hexdigest()}
      models: [fast-model]
  max_failures_per_minute: 3
"""
CHAT = "/v1/chat/completions"


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    config = load_config_text(CONFIG.replace(PASSTHROUGH, "") + AUTH, ENV, require_keys=False)
    router = await Router.start(config)
    yield Gateway(config, router)
    await router.close()


def header_phase(
    gateway: Gateway, path: str, headers: dict[str, str], method: str = "POST"
) -> tuple[ProcessingResponse, PendingRequest | None]:
    return gateway.on_headers(method, path, False, headers)


async def send(
    gateway: Gateway, path: str, body: object, headers: dict[str, str]
) -> ProcessingResponse:
    reply, pending = header_phase(gateway, path, headers)
    if pending is None:
        return reply
    return await gateway.on_body(pending, orjson.dumps(body))


async def test_refusals_take_the_client_apis_own_error_shape(gateway: Gateway) -> None:
    openai_reply, _ = header_phase(gateway, CHAT, {})
    anthropic_reply, _ = header_phase(gateway, "/v1/messages", {"x-api-key": "wrong"})
    decision_reply, _ = header_phase(gateway, "/routing/v1/chat/completions", {})

    assert immediate(openai_reply) == (
        401,
        {
            "error": {
                "message": "this gateway needs an API key: send it as 'Authorization: Bearer "
                "<key>' or 'x-api-key'",
                "type": "authentication_error",
                "param": None,
                "code": "missing_api_key",
            }
        },
    )
    assert immediate(anthropic_reply) == (
        401,
        {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid API key or token"},
        },
    )
    status, body = immediate(decision_reply)
    assert (status, body["error"]["details"]["reason"]) == (401, "missing_api_key")
    headers = {
        h.header.key: h.header.raw_value.decode()
        for h in openai_reply.immediate_response.headers.set_headers
    }
    assert headers["www-authenticate"] == "Bearer"


async def test_an_admitted_request_loses_its_credential_and_any_forged_identity(
    gateway: Gateway,
) -> None:
    forged = {"authorization": "Bearer pk-all", "x-plano-identity": "admin", "x-plano-team": "root"}

    reply, pending = header_phase(gateway, CHAT, forged)

    assert pending is not None
    assert pending.identity is not None
    assert pending.identity.name == "everything"
    assert pending.headers["x-plano-identity"] == "everything"
    assert pending.headers["x-plano-team"] == "platform"
    assert "authorization" not in pending.headers
    removed = set(reply.request_headers.response.header_mutation.remove_headers)
    assert {"authorization", "x-api-key", "x-plano-identity", "x-plano-team"} <= removed
    plano = reply.dynamic_metadata.fields["plano"].struct_value.fields
    assert plano["identity"].string_value == "everything"
    assert plano["team"].string_value == "platform"


async def test_the_provider_gets_its_own_key(gateway: Gateway) -> None:
    body = {**CODE_REQUEST, "model": "gpt-4o-mini", "routing_preferences": None}

    reply = await send(gateway, CHAT, body, {"authorization": "Bearer pk-all"})

    assert headers_set(reply)["authorization"] == "Bearer sk-test-openai"


async def test_a_key_may_not_name_a_model_outside_its_allowance(gateway: Gateway) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}

    refused = await send(gateway, CHAT, body, {"x-api-key": "pk-claude"})
    allowed = await send(gateway, CHAT, {**body, "model": "fast-model"}, {"x-api-key": "pk-mini"})

    status, error = immediate(refused)
    assert status == 403
    assert error["error"]["type"] == "permission_error"
    assert error["error"]["code"] == "model_not_allowed"
    assert "openai/gpt-4o" in error["error"]["message"]
    assert headers_set(allowed)["x-plano-cluster"].startswith("upstream_api_openai_com")


async def test_a_routed_request_goes_to_the_best_model_the_key_may_use(gateway: Gateway) -> None:
    decision = await send(
        gateway, "/routing/v1/chat/completions", CODE_REQUEST, {"x-api-key": "pk-claude"}
    )
    nothing_allowed = await send(
        gateway, "/routing/v1/chat/completions", CODE_REQUEST, {"x-api-key": "pk-mini"}
    )

    assert immediate(decision)[1]["models"] == ["anthropic/claude-sonnet-4-20250514"]
    status, body = immediate(nothing_allowed)
    assert (status, body["error"]["details"]["reason"]) == (403, "model_not_allowed")


async def test_the_model_list_shows_what_the_key_may_use(gateway: Gateway) -> None:
    reply, _ = gateway.on_headers("GET", "/v1/models", True, {"x-api-key": "pk-mini"})
    everything, _ = gateway.on_headers("GET", "/v1/models", True, {"x-api-key": "pk-all"})

    listed = [m["id"] for m in immediate(reply)[1]["data"]]
    assert listed == ["openai/gpt-4o-mini", "fast-model"]
    assert len(immediate(everything)[1]["data"]) > len(listed)


async def test_guessing_from_one_address_is_throttled(gateway: Gateway) -> None:
    address = {"x-forwarded-for": "203.0.113.7"}
    for _ in range(3):
        header_phase(gateway, "/v1/messages", {**address, "x-api-key": "guess"})

    reply, pending = header_phase(gateway, "/v1/messages", {**address, "x-api-key": "pk-all"})

    assert pending is None
    status, body = immediate(reply)
    assert status == 429
    assert body["error"]["type"] == "rate_limit_error"
