"""Responses conversation state (`state_storage`) in the gateway: stored exchanges are
prepended to requests that name them, for providers the gateway translates for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from plano_extproc.config import load_config_text
from plano_extproc.extproc.gateway import Gateway
from plano_extproc.routing.router import Router
from tests.extproc.conftest import CONFIG, ENV
from tests.extproc.test_gateway import headers_set, immediate, post

CLAUDE = "claude-sonnet-4-20250514"


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    config = load_config_text(CONFIG + "state_storage: {type: memory}\n", ENV, require_keys=False)
    router = await Router.start(config)
    gateway = Gateway(config, router)
    yield gateway
    await gateway.close()
    await router.close()


def _state_key(reply: object) -> str:
    fields = reply.dynamic_metadata.fields["plano"].struct_value.fields  # type: ignore[attr-defined]
    return str(fields["state"].string_value)


def _sent(reply: object) -> dict:
    return orjson.loads(reply.request_body.response.body_mutation.body)  # type: ignore[attr-defined]


async def test_a_named_previous_response_is_prepended(gateway: Gateway) -> None:
    first = await post(gateway, "/v1/responses", {"model": CLAUDE, "input": "My name is Ada."})
    answer = [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hello Ada."}],
        }
    ]
    await gateway.remember(_state_key(first), "resp_1", answer)

    second = await post(
        gateway,
        "/v1/responses",
        {"model": CLAUDE, "input": "What is my name?", "previous_response_id": "resp_1"},
    )

    assert _sent(second)["messages"] == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hello Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    # The second exchange extends the first one when it completes.
    await gateway.remember(_state_key(second), "resp_2", [])
    third = await post(
        gateway, "/v1/responses", {"model": CLAUDE, "input": "ok", "previous_response_id": "resp_2"}
    )
    assert len(_sent(third)["messages"]) == 4


async def test_an_unknown_previous_response_is_a_404_in_openai_shape(gateway: Gateway) -> None:
    body = {"model": CLAUDE, "input": "hi", "previous_response_id": "resp_missing"}
    status, error = immediate(await post(gateway, "/v1/responses", body))

    assert status == 404
    assert error["error"]["code"] == "previous_response_not_found"
    assert error["error"]["param"] == "previous_response_id"
    assert "resp_missing" in error["error"]["message"]


async def test_openai_keeps_its_own_state(gateway: Gateway) -> None:
    body = {"model": "gpt-4o", "input": "hi", "previous_response_id": "resp_at_openai"}
    reply = await post(gateway, "/v1/responses", body)

    assert headers_set(reply)[":path"] == "/v1/responses"
    assert not reply.request_body.response.body_mutation.body  # forwarded as written
    assert "state" not in reply.dynamic_metadata.fields["plano"].struct_value.fields


async def test_a_completed_exchange_without_its_request_is_not_stored(gateway: Gateway) -> None:
    await gateway.remember("never-issued", "resp_x", [{"type": "message"}])
    body = {"model": CLAUDE, "input": "hi", "previous_response_id": "resp_x"}
    status, _ = immediate(await post(gateway, "/v1/responses", body))
    assert status == 404


async def test_an_unreachable_state_store_is_a_503_not_a_wrong_answer() -> None:
    text = CONFIG + "state_storage: {type: redis, url: 'redis://127.0.0.1:1'}\n"
    config = load_config_text(text, ENV, require_keys=False)
    router = await Router.start(config)
    gateway = Gateway(config, router)
    try:
        body = {"model": CLAUDE, "input": "hi", "previous_response_id": "resp_1"}
        status, error = immediate(await post(gateway, "/v1/responses", body))
    finally:
        await gateway.close()
        await router.close()

    assert status == 503
    assert error["error"]["details"]["reason"] == "state_unavailable"


async def test_only_response_ids_can_be_read(gateway: Gateway) -> None:
    first = await post(gateway, "/v1/responses", {"model": CLAUDE, "input": "secret"})
    pending = f"pending:{_state_key(first)}"
    body = {"model": CLAUDE, "input": "hi", "previous_response_id": pending}
    status, _ = immediate(await post(gateway, "/v1/responses", body))
    assert status == 404


async def test_a_conversation_over_the_size_limit_is_refused(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("plano_extproc.conversations.exchanges.MAX_CONVERSATION_BYTES", 100)
    status, error = immediate(
        await post(gateway, "/v1/responses", {"model": CLAUDE, "input": "x" * 200})
    )
    assert status == 400
    assert error["error"]["details"]["reason"] == "conversation_too_long"


async def test_a_completed_exchange_over_the_limit_is_not_stored(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await post(gateway, "/v1/responses", {"model": CLAUDE, "input": "hi"})
    monkeypatch.setattr("plano_extproc.conversations.exchanges.MAX_CONVERSATION_BYTES", 100)
    await gateway.remember(_state_key(first), "resp_big", [{"text": "y" * 200}])
    monkeypatch.undo()
    body = {"model": CLAUDE, "input": "again", "previous_response_id": "resp_big"}
    status, _ = immediate(await post(gateway, "/v1/responses", body))
    assert status == 404
