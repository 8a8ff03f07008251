"""The test upstream on its own: the official SDKs parse its answers; scripts and records work."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote

import anthropic
import httpx
import openai
import pytest
from botocore.eventstream import EventStreamBuffer

from tests.e2e.sse import chat_text, sse_events
from tests.support.upstream import (
    DefaultReply,
    ErrorReply,
    JsonReply,
    StreamReply,
    UpstreamServer,
    failures,
    running_upstream,
    slow_stream,
)

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
USER_HI = [{"role": "user", "content": "hi"}]
CLAUDE = "claude-test-model"
DEFAULT_TEXT = "Hello from the test upstream."


@pytest.fixture
def openai_client(upstream: UpstreamServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{upstream.url}/v1", api_key="sk-client", max_retries=0)


@pytest.fixture
def anthropic_client(upstream: UpstreamServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=upstream.url, api_key="sk-client", max_retries=0)


def test_openai_sdk_parses_a_chat_completion(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(model="gpt-4o", messages=USER_HI)

    assert completion.model == "gpt-4o"
    assert completion.choices[0].message.content == DEFAULT_TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


def test_openai_sdk_parses_a_chat_stream(openai_client: openai.OpenAI) -> None:
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=USER_HI, stream=True)

    chunks = list(stream)

    assert {chunk.model for chunk in chunks} == {"gpt-4o"}
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == DEFAULT_TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_openai_sdk_parses_a_response(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model="gpt-4o", input="hi")

    assert response.model == "gpt-4o"
    assert response.status == "completed"
    assert response.output_text == DEFAULT_TEXT


def test_openai_sdk_parses_a_response_stream(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(model="gpt-4o", input="hi") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(deltas) == DEFAULT_TEXT
    assert final.output_text == DEFAULT_TEXT


def test_anthropic_sdk_parses_a_message(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(model=CLAUDE, max_tokens=64, messages=USER_HI)

    assert message.model == CLAUDE
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert message.content[0].text == DEFAULT_TEXT


def test_anthropic_sdk_parses_a_message_stream(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(model=CLAUDE, max_tokens=64, messages=USER_HI) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == DEFAULT_TEXT
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


def test_records_every_request(upstream: UpstreamServer) -> None:
    httpx.post(
        f"{upstream.url}{CHAT}?trace=1",
        content=b'{"model": "m", "messages": []}',
        headers={"X-Custom": "Value", "Content-Type": "application/json"},
    )
    httpx.post(f"{upstream.url}/v1/unknown", content=b"not json")

    first, second = upstream.requests
    assert (first.method, first.path, first.query) == ("POST", CHAT, "trace=1")
    assert first.headers["x-custom"] == "Value"
    assert first.body == b'{"model": "m", "messages": []}'
    assert first.json == {"model": "m", "messages": []}
    assert (second.path, second.json) == ("/v1/unknown", None)
    assert upstream.requests_to(CHAT) == [first]


def test_unknown_paths_are_404_and_health_is_200(upstream: UpstreamServer) -> None:
    assert httpx.post(f"{upstream.url}/v1/unknown", json={}).status_code == 404
    assert httpx.get(f"{upstream.url}/health").status_code == 200


def test_scripted_failures_come_before_the_default(upstream: UpstreamServer) -> None:
    upstream.script(CHAT, *failures(2), DefaultReply())

    statuses = [
        httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"}).status_code for _ in range(4)
    ]

    assert statuses == [503, 503, 200, 200]
    assert upstream.pending_replies(CHAT) == 0


def test_scripts_are_per_path(upstream: UpstreamServer) -> None:
    upstream.script(MESSAGES, ErrorReply(529, "overloaded"))

    chat = httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"})
    messages = httpx.post(f"{upstream.url}{MESSAGES}", json={"model": "m"})

    assert chat.status_code == 200
    assert messages.status_code == 529
    assert messages.json() == {
        "type": "error",
        "error": {"type": "api_error", "message": "overloaded"},
    }


def test_error_reply_has_the_openai_shape_on_openai_paths(upstream: UpstreamServer) -> None:
    upstream.script(CHAT, ErrorReply(429, "slow down"))

    response = httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"})

    assert response.status_code == 429
    assert response.json()["error"]["message"] == "slow down"


def test_json_reply_sets_status_body_and_headers(upstream: UpstreamServer) -> None:
    upstream.script(CHAT, JsonReply(418, {"teapot": True}, headers={"x-upstream": "yes"}))

    response = httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"})

    assert response.status_code == 418
    assert response.json() == {"teapot": True}
    assert response.headers["x-upstream"] == "yes"


def test_reset_forgets_requests_and_scripts(upstream: UpstreamServer) -> None:
    upstream.script(CHAT, *failures(1))
    httpx.get(f"{upstream.url}/health")

    upstream.reset()

    assert upstream.requests == []
    assert httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"}).status_code == 200


def test_slow_stream_sends_each_piece(upstream: UpstreamServer) -> None:
    reply = slow_stream(4, interval_s=0.01)
    upstream.script(CHAT, reply)

    with httpx.stream("POST", f"{upstream.url}{CHAT}", json={"model": "m"}) as response:
        text = chat_text(sse_events(response.iter_lines()))

    assert response.headers["content-type"].startswith("text/event-stream")
    assert text == reply.text == "chunk-0 chunk-1 chunk-2 chunk-3 "


def test_gated_stream_holds_the_rest_until_the_gate_opens(upstream: UpstreamServer) -> None:
    gate = threading.Event()
    upstream.script(CHAT, StreamReply(("first", "second"), gate=gate))

    with httpx.stream("POST", f"{upstream.url}{CHAT}", json={"model": "m"}) as response:
        events = sse_events(response.iter_lines())
        role, first = next(events), next(events)
        assert not gate.is_set()
        gate.set()
        rest = list(events)

    assert role["choices"][0]["delta"]["role"] == "assistant"
    assert chat_text([first]) == "first"
    assert chat_text(rest) == "second"


def test_delayed_reply_is_cut_by_a_client_timeout(upstream: UpstreamServer) -> None:
    upstream.script(CHAT, DefaultReply(delay_s=30))

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"}, timeout=0.2)

    assert httpx.post(f"{upstream.url}{CHAT}", json={"model": "m"}).status_code == 200


def test_wait_for_requests_returns_once_enough_arrived(upstream: UpstreamServer) -> None:
    sender = threading.Thread(target=lambda: httpx.get(f"{upstream.url}/health"))
    sender.start()

    arrived = upstream.wait_for_requests(1, timeout_s=10)
    sender.join()

    assert [request.path for request in arrived] == ["/health"]


def test_wait_for_requests_times_out(upstream: UpstreamServer) -> None:
    with pytest.raises(TimeoutError):
        upstream.wait_for_requests(1, timeout_s=0.05)


async def test_serves_async_clients(upstream: UpstreamServer) -> None:
    async with httpx.AsyncClient(base_url=upstream.url) as client:
        responses = [await client.post(CHAT, json={"model": f"m{index}"}) for index in range(3)]

    assert [response.json()["model"] for response in responses] == ["m0", "m1", "m2"]


def test_replies_can_be_scripted_over_http() -> None:
    with running_upstream() as server:
        order = {"model": "m", "replies": [{"status": 429, "headers": {"retry-after": "3"}}]}
        assert httpx.post(f"{server.url}/_mock/script", json=order).json() == {"scripted": 1}
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        limited = httpx.post(f"{server.url}/v1/chat/completions", json=body)
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
        assert httpx.post(f"{server.url}/v1/chat/completions", json=body).status_code == 200
        bad = httpx.post(f"{server.url}/_mock/script", json={"model": 1})
        assert bad.status_code == 400


BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BEDROCK_PATH = f"/model/{quote(BEDROCK_MODEL, safe='')}"


@pytest.mark.parametrize(
    "model", [BEDROCK_MODEL, "arn:aws:bedrock:us-east-1:1:inference-profile/us.claude"]
)
def test_bedrock_converse_answer_names_the_model_of_its_path(
    upstream: UpstreamServer, model: str
) -> None:
    path = f"/model/{quote(model, safe='')}/converse"
    reply = httpx.post(f"{upstream.url}{path}", json={"messages": []})

    body = reply.json()
    assert reply.status_code == 200
    assert body["output"]["message"]["content"] == [{"text": DEFAULT_TEXT}]
    assert body["stopReason"] == "end_turn"
    assert body["trace"]["promptRouter"]["invokedModelId"] == model


def test_botocore_parses_the_bedrock_stream(upstream: UpstreamServer) -> None:
    reply = httpx.post(f"{upstream.url}{BEDROCK_PATH}/converse-stream", json={"messages": []})
    buffer = EventStreamBuffer()
    buffer.add_data(reply.content)

    messages = list(buffer)

    assert reply.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert {message.headers[":message-type"] for message in messages} == {"event"}
    kinds = [message.headers[":event-type"] for message in messages]
    assert kinds[0] == "messageStart"
    assert kinds[-2:] == ["messageStop", "metadata"]
    payloads = [json.loads(message.payload) for message in messages]
    text = "".join(
        payload["delta"]["text"]
        for kind, payload in zip(kinds, payloads, strict=True)
        if kind == "contentBlockDelta"
    )
    assert text == DEFAULT_TEXT
    assert payloads[-1]["usage"]["outputTokens"] == 3


def test_bedrock_errors_name_their_exception(upstream: UpstreamServer) -> None:
    # Scripts and records name the path as the server decoded it.
    upstream.script(f"/model/{BEDROCK_MODEL}/converse", ErrorReply(429, "slow down"))

    reply = httpx.post(f"{upstream.url}{BEDROCK_PATH}/converse", json={"messages": []})

    assert reply.status_code == 429
    assert reply.json() == {"message": "slow down"}
    assert reply.headers["x-amzn-errortype"] == "ThrottlingException"
