"""Amazon Bedrock through the real Envoy: OpenAI and Anthropic SDK clients, JSON and streamed,
text and tool calls, translated to Converse / ConverseStream (the AWS event stream) and back."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.e2e.provider_cases import ANSWER, BEDROCK, FAILING_OVER, HI, only_request
from tests.support.aws_eventstream import event_message
from tests.support.upstream import ErrorReply, JsonReply, RawReply, UpstreamServer

pytestmark = pytest.mark.e2e

CONVERSE = "/model/us.amazon.nova-pro-v1:0/converse"
CONVERSE_STREAM = CONVERSE + "-stream"
EVENT_STREAM = "application/vnd.amazon.eventstream"
WEATHER = {
    "name": "weather",
    "description": "the weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
ASK = [{"role": "user", "content": "weather in Paris?"}]
USAGE = {"inputTokens": 12, "outputTokens": 7, "totalTokens": 19}


def tool_use_answer() -> dict[str, Any]:
    block = {"toolUse": {"toolUseId": "tu-1", "name": "weather", "input": {"city": "Paris"}}}
    return {
        "output": {"message": {"role": "assistant", "content": [block]}},
        "stopReason": "tool_use",
        "usage": USAGE,
    }


def tool_use_stream() -> RawReply:
    start = {"toolUse": {"toolUseId": "tu-1", "name": "weather"}}
    frames = [
        event_message("messageStart", {"role": "assistant"}),
        event_message("contentBlockStart", {"contentBlockIndex": 0, "start": start}),
        *(
            event_message(
                "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": p}}}
            )
            for p in ('{"city": ', '"Paris"}')
        ),
        event_message("contentBlockStop", {"contentBlockIndex": 0}),
        event_message("messageStop", {"stopReason": "tool_use"}),
        event_message("metadata", {"usage": USAGE, "metrics": {"latencyMs": 3}}),
    ]
    # Split across chunk boundaries, as a network would.
    raw = b"".join(frames)
    return RawReply(tuple(raw[i : i + 37] for i in range(0, len(raw), 37)), EVENT_STREAM)


def test_chat_stream_from_converse_stream(
    openai_sdk: openai.OpenAI, upstream: UpstreamServer
) -> None:
    stream = openai_sdk.chat.completions.create(
        model=BEDROCK, messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ANSWER
    assert chunks[-1].usage is not None
    assert only_request(upstream).path == CONVERSE_STREAM


def test_anthropic_stream_from_converse_stream(
    anthropic_sdk: anthropic.Anthropic, upstream: UpstreamServer
) -> None:
    with anthropic_sdk.messages.stream(model=BEDROCK, max_tokens=64, messages=HI) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == ANSWER
    assert final.stop_reason == "end_turn"
    received = only_request(upstream)
    assert received.path == CONVERSE_STREAM
    assert received.json["inferenceConfig"]["maxTokens"] == 64


def test_chat_tool_call_as_json(openai_sdk: openai.OpenAI, upstream: UpstreamServer) -> None:
    upstream.script(CONVERSE, JsonReply(200, tool_use_answer()))
    answer = openai_sdk.chat.completions.create(
        model=BEDROCK, messages=ASK, tools=[{"type": "function", "function": WEATHER}]
    )

    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert (call.id, call.function.name) == ("tu-1", "weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert answer.usage.total_tokens == 19
    tool = only_request(upstream).json["toolConfig"]["tools"][0]["toolSpec"]
    assert (tool["name"], tool["inputSchema"]["json"]) == ("weather", WEATHER["parameters"])


def test_chat_tool_call_streamed(openai_sdk: openai.OpenAI, upstream: UpstreamServer) -> None:
    upstream.script(CONVERSE_STREAM, tool_use_stream())
    stream = openai_sdk.chat.completions.create(
        model=BEDROCK, messages=ASK, tools=[{"type": "function", "function": WEATHER}], stream=True
    )
    chunks = [c for c in stream if c.choices]

    calls = [call for c in chunks for call in c.choices[0].delta.tool_calls or []]
    assert calls[0].function.name == "weather"
    assert json.loads("".join(c.function.arguments or "" for c in calls)) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_anthropic_tool_call_as_json_and_streamed(
    anthropic_sdk: anthropic.Anthropic, upstream: UpstreamServer
) -> None:
    tool = {"name": "weather", "description": "", "input_schema": WEATHER["parameters"]}
    upstream.script(CONVERSE, JsonReply(200, tool_use_answer()))
    upstream.script(CONVERSE_STREAM, tool_use_stream())

    message = anthropic_sdk.messages.create(
        model=BEDROCK, max_tokens=64, messages=ASK, tools=[tool]
    )
    with anthropic_sdk.messages.stream(
        model=BEDROCK, max_tokens=64, messages=ASK, tools=[tool]
    ) as stream:
        streamed = stream.get_final_message()

    for answer in (message, streamed):
        assert answer.stop_reason == "tool_use"
        block = answer.content[0]
        assert (block.type, block.name, block.input) == ("tool_use", "weather", {"city": "Paris"})
    assert [r.path for r in upstream.requests] == [CONVERSE, CONVERSE_STREAM]


def test_a_bedrock_throttle_is_the_clients_rate_limit_error(
    openai_sdk: openai.OpenAI, upstream: UpstreamServer
) -> None:
    upstream.script(CONVERSE, ErrorReply(429, "Too many requests, please wait"))

    with pytest.raises(openai.RateLimitError) as caught:
        openai_sdk.chat.completions.create(model=BEDROCK, messages=HI)

    assert "Too many requests" in str(caught.value)
    assert upstream.requests[0].path == CONVERSE


@pytest.mark.parametrize("stream", [False, True])
def test_a_routed_gemini_model_fails_over_to_bedrock(
    stream: bool, anthropic_sdk: anthropic.Anthropic, upstream: UpstreamServer
) -> None:
    upstream.script_model("gemini-2.0-flash", ErrorReply(503))
    ask = [{"role": "user", "content": "Summarise this long document into short bullet points"}]

    raw = anthropic_sdk.messages.with_raw_response.create(
        model="any", max_tokens=64, messages=ask, stream=stream
    )

    assert raw.headers["x-plano-route"] == "summaries"
    assert raw.headers["x-plano-model"] == BEDROCK
    assert raw.headers["x-plano-attempts"] == (f"{FAILING_OVER};status=503, {BEDROCK};status=200")
    if stream:
        text = "".join(
            event.delta.text for event in raw.parse() if event.type == "content_block_delta"
        )
    else:
        text = raw.parse().content[0].text
    assert text == ANSWER
    gemini, bedrock = upstream.requests
    assert gemini.path == "/v1beta/openai/chat/completions"
    assert bedrock.path == (CONVERSE_STREAM if stream else CONVERSE)
    assert bedrock.headers["authorization"] == "Bearer key-amazon_bedrock"


@pytest.mark.parametrize("fault", ["bad_crc", "truncated"])
def test_a_broken_event_stream_ends_the_clients_stream_with_an_error(
    fault: str, every_provider_gateway: Any, upstream: UpstreamServer
) -> None:
    frames = [
        event_message("messageStart", {"role": "assistant"}),
        event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hel"}}),
        event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "lo"}}),
    ]
    last = frames[-1]
    frames[-1] = last[:-1] + bytes([last[-1] ^ 1]) if fault == "bad_crc" else last[:-5]
    upstream.script(CONVERSE_STREAM, RawReply((b"".join(frames),), EVENT_STREAM))
    body = {"model": BEDROCK, "messages": HI, "stream": True}

    with httpx.stream(
        "POST", f"{every_provider_gateway.base_url}/v1/chat/completions", json=body, timeout=20
    ) as response:
        text = response.read().decode()

    assert response.status_code == 200
    lines = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data:")]
    events = [json.loads(line) for line in lines]
    deltas = [e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices")]
    # What was whole reached the client; the broken frame ends the stream with an error.
    assert "".join(deltas) == "Hel"
    assert events[-1]["error"]["type"] == "server_error"
