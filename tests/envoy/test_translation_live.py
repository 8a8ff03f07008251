"""Translated requests through the generated config: real Envoy, `plano-extproc serve` and the
test upstream, all on 127.0.0.1.

A client's request in one API, for a model whose provider speaks the other, must reach the
provider in the provider's API (with the provider's key, without internal headers) and come back
in the client's API, streamed or not; the official SDKs are the clients.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from plano_extproc.envoy.render import TRANSLATE_STAT_PREFIX
from tests.envoy.support import ENVOY
from tests.support.gateway import TEST_KEYS, Gateway, running_gateway
from tests.support.upstream import (
    ErrorReply,
    RecordedRequest,
    StreamReply,
    UpstreamServer,
    running_upstream,
)
from tests.support.upstream_payloads import DEFAULT_PIECES

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(ENVOY is None, reason="envoy binary not installed"),
]

# Translated to Messages (`upstream_api: messages`); the default Anthropic provider is not.
ANTHROPIC_MODEL = "claude-3-5-haiku-latest"
PLANO_ANTHROPIC_MODEL = "claude-sonnet-4-20250514"
OPENAI_MODEL = "gpt-4o"
MESSAGES = [{"role": "user", "content": "hi"}]
ANSWER = "".join(DEFAULT_PIECES)
CLIENT_KEY = "client-key"
TIMEOUT_SECONDS = 20.0
TRANSLATE_STREAMS = f"ext_proc.{TRANSLATE_STAT_PREFIX}.streams_started"


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[UpstreamServer]:
    with running_upstream() as server:
        yield server


@pytest.fixture(scope="module")
def gateway_module(
    upstream_server: UpstreamServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("translation"), upstream_server) as gateway:
        yield gateway


@pytest.fixture
def gateway(gateway_module: Gateway, upstream_server: UpstreamServer) -> Gateway:
    upstream_server.reset()
    return gateway_module


@pytest.fixture
def openai_client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.base_url}/v1",
        api_key=CLIENT_KEY,
        max_retries=0,
        timeout=TIMEOUT_SECONDS,
    )


def only_request(upstream: UpstreamServer) -> RecordedRequest:
    (request,) = upstream.requests
    return request


def assert_sent_with_the_provider_key(request: RecordedRequest, header: str, key: str) -> None:
    assert request.headers[header] == key
    assert CLIENT_KEY not in json.dumps(dict(request.headers))
    assert not [name for name in request.headers if name.startswith("x-plano-")]


def translate_streams(gateway: Gateway) -> int:
    stats = httpx.get(f"{gateway.admin_url}/stats", params={"filter": TRANSLATE_STREAMS}).text
    (line,) = stats.splitlines()
    return int(line.rpartition(": ")[2])


def test_chat_request_reaches_anthropic_and_answers_a_chat_completion(
    gateway: Gateway, openai_client: openai.OpenAI
) -> None:
    completion = openai_client.chat.completions.create(model=ANTHROPIC_MODEL, messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    sent = only_request(gateway.upstream)
    assert sent.path == "/v1/messages"
    assert sent.json["model"] == ANTHROPIC_MODEL
    assert sent.json["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert "max_tokens" in sent.json
    assert_sent_with_the_provider_key(sent, "x-api-key", TEST_KEYS["TEST_ANTHROPIC_KEY"])
    assert "authorization" not in sent.headers


def test_by_default_a_chat_request_reaches_anthropic_as_chat_completions(
    gateway: Gateway, openai_client: openai.OpenAI
) -> None:
    """Plano's choice: the provider's OpenAI-compatible endpoint, a bearer key, the body as
    the client wrote it (but the bare model id), and no response translation."""
    before = translate_streams(gateway)

    completion = openai_client.chat.completions.create(
        model=f"anthropic/{PLANO_ANTHROPIC_MODEL}", messages=MESSAGES, temperature=0.3
    )

    assert completion.choices[0].message.content == ANSWER
    sent = only_request(gateway.upstream)
    assert sent.path == "/v1/chat/completions"
    assert sent.json == {"model": PLANO_ANTHROPIC_MODEL, "messages": MESSAGES, "temperature": 0.3}
    auth = f"Bearer {TEST_KEYS['TEST_ANTHROPIC_KEY']}"
    assert_sent_with_the_provider_key(sent, "authorization", auth)
    assert "x-api-key" not in sent.headers
    assert translate_streams(gateway) == before


def test_streamed_chat_request_answers_a_chunk_stream_ending_in_done(gateway: Gateway) -> None:
    body = {"model": ANTHROPIC_MODEL, "messages": MESSAGES, "stream": True}
    response = httpx.post(
        f"{gateway.base_url}/v1/chat/completions", json=body, timeout=TIMEOUT_SECONDS
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "content-length" not in response.headers
    data = [line.removeprefix("data: ") for line in response.text.splitlines() if line]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(payload) for payload in data[:-1]]
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks)
    assert text == ANSWER
    assert only_request(gateway.upstream).json["stream"] is True


def test_sdk_reads_the_translated_stream(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(
        model=ANTHROPIC_MODEL, messages=MESSAGES, stream=True
    )

    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == ANSWER


def test_translated_stream_is_delivered_chunk_by_chunk(gateway: Gateway) -> None:
    gate = threading.Event()
    gateway.upstream.script("/v1/messages", StreamReply(gate=gate))
    body = {"model": ANTHROPIC_MODEL, "messages": MESSAGES, "stream": True}

    with httpx.stream(
        "POST", f"{gateway.base_url}/v1/chat/completions", json=body, timeout=TIMEOUT_SECONDS
    ) as response:
        lines = response.iter_lines()
        # The upstream holds the rest of its stream until the first delta has come through.
        first = next(line for line in lines if DEFAULT_PIECES[0] in line)
        gate.set()
        rest = [line for line in lines if line]

    assert json.loads(first.removeprefix("data: "))["object"] == "chat.completion.chunk"
    assert rest[-1] == "data: [DONE]"


def test_messages_request_reaches_openai_and_answers_an_anthropic_message(
    gateway: Gateway,
) -> None:
    client = anthropic.Anthropic(
        base_url=gateway.base_url, api_key=CLIENT_KEY, max_retries=0, timeout=TIMEOUT_SECONDS
    )

    message = client.messages.create(model=OPENAI_MODEL, max_tokens=64, messages=MESSAGES)

    assert message.type == "message"
    assert message.role == "assistant"
    assert [block.text for block in message.content if block.type == "text"] == [ANSWER]
    sent = only_request(gateway.upstream)
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == OPENAI_MODEL
    assert_sent_with_the_provider_key(
        sent, "authorization", f"Bearer {TEST_KEYS['TEST_OPENAI_KEY']}"
    )
    assert "x-api-key" not in sent.headers


def test_provider_errors_come_back_in_the_clients_shape(
    gateway: Gateway, openai_client: openai.OpenAI
) -> None:
    gateway.upstream.script("/v1/messages", ErrorReply(400, "max_tokens is too large"))

    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(model=ANTHROPIC_MODEL, messages=MESSAGES)

    assert raised.value.status_code == 400
    assert raised.value.message.endswith("max_tokens is too large")


def test_untranslated_requests_skip_the_translating_filter(
    gateway: Gateway, openai_client: openai.OpenAI
) -> None:
    before = translate_streams(gateway)

    completion = openai_client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    decision = httpx.post(
        f"{gateway.base_url}/routing/v1/chat/completions",
        json={"messages": MESSAGES},
        timeout=TIMEOUT_SECONDS,
    )

    assert completion.choices[0].message.content == ANSWER
    assert decision.status_code == 200
    assert only_request(gateway.upstream).path == "/v1/chat/completions"
    assert translate_streams(gateway) == before


def test_translated_request_opens_one_translating_stream(
    gateway: Gateway, openai_client: openai.OpenAI
) -> None:
    before = translate_streams(gateway)

    openai_client.chat.completions.create(model=ANTHROPIC_MODEL, messages=MESSAGES)

    assert translate_streams(gateway) == before + 1
