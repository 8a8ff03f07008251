from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.extproc.gateway import Gateway, PendingRequest
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import ProcessingResponse
from plano_extproc.wire import Transcript
from plano_extproc.wire.parse import _READERS

CODE_REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Write a Python function for binary search"}],
}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def headers_set(reply: ProcessingResponse) -> dict[str, str]:
    mutation = reply.request_body.response.header_mutation
    return {h.header.key: h.header.raw_value.decode() for h in mutation.set_headers}


def immediate(reply: ProcessingResponse) -> tuple[int, dict]:
    assert reply.HasField("immediate_response")
    return reply.immediate_response.status.code, orjson.loads(reply.immediate_response.body)


async def post(
    gateway: Gateway, path: str, body: object, headers: dict[str, str] | None = None
) -> ProcessingResponse:
    _, pending = gateway.on_headers("POST", path, False, dict(headers or {}))
    assert isinstance(pending, PendingRequest)
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return await gateway.on_body(pending, raw)


async def test_decision_endpoint_answers_immediately(gateway: Gateway) -> None:
    reply = await post(gateway, "/routing/v1/chat/completions", CODE_REQUEST)
    status, body = immediate(reply)
    assert status == 200
    assert body["route"] == "code_generation"
    assert body["models"] == ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"]


async def test_proxy_rewrites_for_openai_provider(gateway: Gateway) -> None:
    request = {**CODE_REQUEST, "routing_preferences": None}
    reply = await post(
        gateway, "/v1/chat/completions", request, {"authorization": "Bearer client-key"}
    )
    common = reply.request_body.response
    sent = orjson.loads(common.body_mutation.body)
    headers = headers_set(reply)
    assert sent["model"] == "gpt-4o"
    assert "routing_preferences" not in sent
    assert headers["x-plano-cluster"] == "upstream_api_openai_com_443_tls"
    assert headers[":path"] == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-test-openai"
    assert headers["content-length"] == str(len(common.body_mutation.body))
    assert headers["traceparent"].startswith("00-")
    removed = ["authorization", "x-api-key", "x-plano-translate", "x-plano-usage"]
    assert list(common.header_mutation.remove_headers) == removed
    assert common.clear_route_cache
    plano = reply.dynamic_metadata.fields["plano"].struct_value.fields
    assert plano["route"].string_value == "code_generation"
    assert plano["model"].string_value == "openai/gpt-4o"
    assert plano["models"].string_value == "openai/gpt-4o,anthropic/claude-sonnet-4-20250514"
    assert plano["pinned"].string_value == "false"


async def test_anthropic_client_to_anthropic_provider_uses_its_key_header(
    gateway: Gateway,
) -> None:
    request = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hello"}],
    }
    reply = await post(gateway, "/v1/messages", request, {"x-api-key": "client"})
    headers = headers_set(reply)
    assert headers["x-api-key"] == "sk-ant-test"
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers[":path"] == "/v1/messages"
    assert "authorization" not in headers
    # The model id is already the bare one, so the body goes upstream untouched.
    assert not reply.request_body.response.HasField("body_mutation")


async def test_passthrough_auth_keeps_client_credentials(gateway: Gateway) -> None:
    request = {"model": "ollama/llama3.1", "messages": [{"role": "user", "content": "hi"}]}
    reply = await post(gateway, "/v1/chat/completions", request, {"traceparent": TRACEPARENT})
    headers = headers_set(reply)
    removed = list(reply.request_body.response.header_mutation.remove_headers)
    assert removed == ["x-plano-translate", "x-plano-usage"]
    assert "authorization" not in headers
    assert "traceparent" not in headers
    assert headers["x-plano-cluster"] == "upstream_127_0_0_1_11434"


async def test_alias_resolves_and_path_prefix_is_kept(gateway: Gateway) -> None:
    request = {"model": "llama-3.3-70b", "messages": [{"role": "user", "content": "hi"}]}
    reply = await post(gateway, "/v1/chat/completions", request)
    status, body = immediate(reply)
    assert status == 503
    assert body["error"]["details"]["reason"] == "missing_provider_key"
    assert "GROQ_KEY" in body["error"]["message"]
    alias = {"model": "fast-model", "messages": [{"role": "user", "content": "hi"}]}
    headers = headers_set(await post(gateway, "/v1/chat/completions", alias))
    assert headers[":path"] == "/v1/chat/completions"


async def test_unknown_model_is_400(gateway: Gateway) -> None:
    request = {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}
    status, body = immediate(await post(gateway, "/v1/chat/completions", request))
    assert status == 400
    assert body["error"]["message"] == "model 'gpt-9' is not served by any configured provider"


async def test_malformed_json_is_400(gateway: Gateway) -> None:
    status, body = immediate(await post(gateway, "/v1/chat/completions", b"{not json"))
    assert status == 400
    assert body["error"]["details"]["reason"] == "malformed_json"


async def test_pinned_decision_reported_in_metadata(gateway: Gateway) -> None:
    headers = {"x-model-affinity": "s-1"}
    await post(gateway, "/v1/chat/completions", CODE_REQUEST, headers)
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "thanks!"}]}
    reply = await post(gateway, "/v1/chat/completions", chat, headers)
    plano = reply.dynamic_metadata.fields["plano"].struct_value.fields
    assert plano["pinned"].string_value == "true"
    assert plano["model"].string_value == "openai/gpt-4o"


async def test_internal_error_becomes_503(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(gateway._router.engine, "decide_unrecorded", broken)
    status, body = immediate(await post(gateway, "/v1/chat/completions", CODE_REQUEST))
    assert status == 503
    assert body["error"]["code"] == "RoutingUnavailable"


def test_model_listing(gateway: Gateway) -> None:
    reply, pending = gateway.on_headers("GET", "/v1/models?x=1", True, {})
    status, body = immediate(reply)
    assert (status, pending) == (200, None)
    ids = [entry["id"] for entry in body["data"]]
    assert ids[0] == "openai/gpt-4o-mini"
    assert "fast-model" in ids


@pytest.mark.parametrize(
    ("method", "path", "end_of_stream", "status", "reason"),
    [
        ("POST", "/v2/unknown", False, 404, "unknown_path"),
        ("GET", "/v1/chat/completions", True, 405, "method_not_allowed"),
        ("POST", "/routing/v1/messages", True, 400, "missing_body"),
    ],
)
def test_header_phase_errors(
    gateway: Gateway, method: str, path: str, end_of_stream: bool, status: int, reason: str
) -> None:
    reply, pending = gateway.on_headers(method, path, end_of_stream, {})
    got_status, body = immediate(reply)
    assert (got_status, pending) == (status, None)
    assert body["error"]["details"]["reason"] == reason


def test_proxy_headers_continue(gateway: Gateway) -> None:
    reply, pending = gateway.on_headers("POST", "/v1/responses", False, {"a": "b"})
    assert reply.HasField("request_headers")
    assert pending is not None
    assert pending.headers == {"a": "b"}


async def test_chat_request_to_anthropic_model_goes_to_its_openai_endpoint(
    gateway: Gateway,
) -> None:
    """Plano's choice: Chat Completions unchanged, on the provider's OpenAI-compatible endpoint
    with a bearer key; nothing to translate back."""
    request = {
        "model": "claude-sonnet-4-20250514",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello"},
        ],
    }
    reply = await post(gateway, "/v1/chat/completions", request, {"x-plano-translate": "x"})
    headers = headers_set(reply)
    mutation = reply.request_body.response.header_mutation
    assert headers[":path"] == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-ant-test"
    assert "x-api-key" not in headers
    assert "anthropic-version" not in headers
    assert "x-plano-translate" not in headers
    assert "x-plano-translate" in mutation.remove_headers
    assert not reply.request_body.response.body_mutation.body  # already the bare model id
    assert "translate" not in reply.dynamic_metadata.fields["plano"].struct_value.fields


async def test_responses_request_to_anthropic_model_is_sent_as_chat(gateway: Gateway) -> None:
    request = {"model": "claude-sonnet-4-20250514", "input": "hello", "instructions": "be brief"}
    reply = await post(gateway, "/v1/responses", request)
    headers = headers_set(reply)
    sent = orjson.loads(reply.request_body.response.body_mutation.body)
    assert headers[":path"] == "/v1/chat/completions"
    assert headers["x-plano-translate"] == "responses_to_openai"
    assert headers["authorization"] == "Bearer sk-ant-test"
    assert sent["model"] == "claude-sonnet-4-20250514"
    assert sent["messages"][-1] == {"role": "user", "content": "hello"}


@pytest.mark.parametrize(
    ("model", "path", "translate"),
    [
        ("gpt-4o", "/v1/responses", None),  # OpenAI serves the Responses API itself
        ("ollama/llama3.1", "/v1/chat/completions", "responses_to_openai"),
    ],
)
async def test_responses_requests_are_native_only_for_openai(
    gateway: Gateway, model: str, path: str, translate: str | None
) -> None:
    reply = await post(gateway, "/v1/responses", {"model": model, "input": "hello"})
    headers = headers_set(reply)
    assert headers[":path"] == path
    assert headers.get("x-plano-translate") == translate


async def test_native_messages_opt_in_translates_chat_requests(gateway: Gateway) -> None:
    request = {
        "model": "claude-3-5-haiku-latest",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello"},
        ],
    }
    reply = await post(gateway, "/v1/chat/completions", request)
    headers = headers_set(reply)
    sent = orjson.loads(reply.request_body.response.body_mutation.body)
    assert headers[":path"] == "/v1/messages"
    assert headers["x-plano-translate"] == "chat_to_anthropic"
    assert headers["x-api-key"] == "sk-ant-test"
    assert sent["model"] == "claude-3-5-haiku-latest"
    assert "authorization" not in headers
    assert sent["system"] == "be brief"
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    plano = reply.dynamic_metadata.fields["plano"].struct_value.fields
    assert plano["translate"].string_value == "chat_to_anthropic"
    assert plano["stream"].string_value == "true"
    assert plano["include_usage"].string_value == "true"


async def test_a_translated_request_is_read_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    read = _READERS[ClientApi.CHAT]

    def counted(body: dict[str, Any]) -> Transcript:
        reads.append(body)
        return read(body)

    monkeypatch.setitem(_READERS, ClientApi.CHAT, counted)
    request = {"model": "claude-3-5-haiku-latest", "messages": [{"role": "user", "content": "hi"}]}

    reply = await post(gateway, "/v1/chat/completions", request)

    assert headers_set(reply)["x-plano-translate"] == "chat_to_anthropic"
    assert len(reads) == 1


async def test_untranslatable_request_is_400(gateway: Gateway) -> None:
    request = {
        "model": "claude-3-5-haiku-latest",
        "n": 3,
        "messages": [{"role": "user", "content": "hello"}],
    }
    status, body = immediate(await post(gateway, "/v1/chat/completions", request))
    assert status == 400
    assert body["error"]["details"]["reason"] == "untranslatable"


async def test_decision_answer_carries_access_log_metadata(gateway: Gateway) -> None:
    reply = await post(gateway, "/routing/v1/chat/completions", CODE_REQUEST)
    plano = reply.dynamic_metadata.fields["plano"].struct_value.fields
    assert plano["route"].string_value == "code_generation"
    assert plano["model"].string_value == "openai/gpt-4o"


async def test_query_string_is_kept_on_the_provider_path(gateway: Gateway) -> None:
    reply = await post(gateway, "/v1/chat/completions?api-version=2024-06-01", CODE_REQUEST)
    assert headers_set(reply)[":path"] == "/v1/chat/completions?api-version=2024-06-01"


async def test_client_headers_outside_the_allowlist_are_removed(gateway: Gateway) -> None:
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    client = {
        "cookie": "session=1",
        "openai-organization": "org-secret",
        "x-plano-route": "forged",
        "user-agent": "sdk/1.0",
        "traceparent": "not-a-traceparent",
    }
    reply = await post(gateway, "/v1/chat/completions", request, client)
    removed = set(reply.request_body.response.header_mutation.remove_headers)
    assert {"cookie", "openai-organization", "x-plano-route"} <= removed
    assert "user-agent" not in removed
    # An invalid traceparent is replaced by the gateway's own.
    assert headers_set(reply)["traceparent"].startswith("00-")


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate, gzip"])
def test_a_compressed_body_is_refused_with_415(gateway: Gateway, encoding: str) -> None:
    reply, pending = gateway.on_headers(
        "POST", "/v1/chat/completions", False, {"content-encoding": encoding}
    )
    assert pending is None
    status, body = immediate(reply)
    assert status == 415
    assert body["error"]["details"]["reason"] == "unsupported_content_encoding"


def test_identity_encoding_is_accepted(gateway: Gateway) -> None:
    _, pending = gateway.on_headers(
        "POST", "/v1/chat/completions", False, {"content-encoding": "identity"}
    )
    assert isinstance(pending, PendingRequest)
