"""Responses conversation state through Envoy with the OpenAI SDK: a Responses client talking
to an Anthropic model (sent as Chat Completions) chains turns with `previous_response_id`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import openai
import pytest

from tests.support.gateway import ANTHROPIC_MODEL, Gateway, running_gateway
from tests.support.redis_server import running_redis_server
from tests.support.upstream import UpstreamServer, running_upstream
from tests.support.upstream_payloads import DEFAULT_PIECES

pytestmark = pytest.mark.e2e

ANSWER = "".join(DEFAULT_PIECES)


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamServer]:
    with running_upstream() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    upstream: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    overrides = {"routing_preferences": [], "state_storage": {"type": "memory"}}
    with running_gateway(tmp_path_factory.mktemp("state"), upstream, overrides=overrides) as gw:
        yield gw


@pytest.fixture
def client(gateway: Gateway, upstream: UpstreamServer) -> openai.OpenAI:
    upstream.reset()
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused", max_retries=0)


def _last_chat_messages(upstream: UpstreamServer) -> list[dict]:
    chats = [r for r in upstream.requests if r.path == "/v1/chat/completions"]
    return chats[-1].json["messages"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_previous_response_id_carries_the_conversation(
    client: openai.OpenAI, upstream: UpstreamServer, stream: bool
) -> None:
    if stream:
        with client.responses.stream(model=ANTHROPIC_MODEL, input="My name is Ada.") as events:
            first = events.get_final_response()
    else:
        first = client.responses.create(model=ANTHROPIC_MODEL, input="My name is Ada.")
    assert first.output_text == ANSWER

    second = client.responses.create(
        model=ANTHROPIC_MODEL, input="What is my name?", previous_response_id=first.id
    )

    assert second.output_text == ANSWER
    assert _last_chat_messages(upstream) == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": ANSWER},
        {"role": "user", "content": "What is my name?"},
    ]
    third = client.responses.create(
        model=ANTHROPIC_MODEL, input="And again?", previous_response_id=second.id
    )
    assert third.output_text == ANSWER
    assert len(_last_chat_messages(upstream)) == 5


def test_an_unknown_previous_response_is_not_found(
    client: openai.OpenAI, upstream: UpstreamServer
) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.responses.create(model=ANTHROPIC_MODEL, input="hi", previous_response_id="resp_x")

    assert raised.value.code == "previous_response_not_found"
    assert upstream.requests == []


def test_redis_state_is_shared_by_gateways(
    upstream: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One gateway answers the first turn, another the second: the state is in Redis."""
    workdir = tmp_path_factory.mktemp("redis-state")
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis_server(workdir))
        overrides = {
            "routing_preferences": [],
            "state_storage": {"type": "redis", "url": redis.url},
        }
        first, second = (
            stack.enter_context(running_gateway(workdir, upstream, name=name, overrides=overrides))
            for name in ("first", "second")
        )
        upstream.reset()

        def client(gateway: Gateway) -> openai.OpenAI:
            return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key="unused", max_retries=0)

        turn = client(first).responses.create(model=ANTHROPIC_MODEL, input="My name is Ada.")
        client(second).responses.create(
            model=ANTHROPIC_MODEL, input="What is my name?", previous_response_id=turn.id
        )

    assert _last_chat_messages(upstream)[0] == {"role": "user", "content": "My name is Ada."}
    assert len(_last_chat_messages(upstream)) == 3
