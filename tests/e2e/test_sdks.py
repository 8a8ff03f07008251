"""The official `openai` and `anthropic` SDKs, pointed at Envoy, complete normal and streaming
calls. Models and prompts are chosen so that no API translation is involved.
"""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.support.gateway import TEST_KEYS, Gateway
from tests.support.upstream import UpstreamServer

pytestmark = [
    pytest.mark.e2e,
    # The anthropic SDK warns about the seed config's model id; the id is all that matters here.
    pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning"),
]

TEXT = "Hello from the test upstream."
SMALL_TALK = [{"role": "user", "content": "hello there"}]
REASONING = [
    {
        "role": "user",
        "content": "Explain the trade-offs between microservices and monolithic architectures",
    }
]
CLAUDE = "claude-sonnet-4-20250514"


@pytest.fixture
def openai_client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key="client-key", max_retries=0, timeout=30
    )


@pytest.fixture
def anthropic_client(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.base_url, api_key="client-key", max_retries=0, timeout=30
    )


def test_openai_sdk_chat_completion(openai_client: openai.OpenAI, upstream: UpstreamServer) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=SMALL_TALK
    )
    completion = raw.parse()

    assert completion.model == "gpt-4o-mini"
    assert completion.choices[0].message.content == TEXT
    assert raw.headers["x-plano-model"] == "openai/gpt-4o-mini"
    (forwarded,) = upstream.requests
    assert forwarded.headers["authorization"] == f"Bearer {TEST_KEYS['TEST_OPENAI_KEY']}"
    assert "client-key" not in str(dict(forwarded.headers))


def test_openai_sdk_routed_chat_completion(
    openai_client: openai.OpenAI, upstream: UpstreamServer
) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=REASONING
    )

    assert raw.parse().model == "gpt-4o"
    assert raw.headers["x-plano-route"] == "complex_reasoning"


def test_openai_sdk_chat_stream(openai_client: openai.OpenAI, upstream: UpstreamServer) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=SMALL_TALK, stream=True
    )

    chunks = list(stream)

    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == TEXT
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert {chunk.model for chunk in chunks} == {"gpt-4o-mini"}
    (forwarded,) = upstream.requests
    assert forwarded.json["stream"] is True


def test_openai_sdk_lists_models(openai_client: openai.OpenAI) -> None:
    models = [model.id for model in openai_client.models.list()]

    assert "openai/gpt-4o-mini" in models
    assert "fast-model" in models


def test_anthropic_sdk_message(
    anthropic_client: anthropic.Anthropic, upstream: UpstreamServer
) -> None:
    message = anthropic_client.messages.create(model=CLAUDE, max_tokens=64, messages=SMALL_TALK)

    assert message.model == CLAUDE
    assert message.content[0].type == "text"
    assert message.content[0].text == TEXT
    (forwarded,) = upstream.requests
    assert forwarded.headers["x-api-key"] == TEST_KEYS["TEST_ANTHROPIC_KEY"]
    assert forwarded.headers["anthropic-version"] == "2023-06-01"
    assert "client-key" not in str(dict(forwarded.headers))


def test_anthropic_sdk_message_stream(
    anthropic_client: anthropic.Anthropic, upstream: UpstreamServer
) -> None:
    with anthropic_client.messages.stream(
        model=CLAUDE, max_tokens=64, messages=SMALL_TALK
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == TEXT
    assert final.stop_reason == "end_turn"
    assert final.model == CLAUDE
    (forwarded,) = upstream.requests
    assert forwarded.json["stream"] is True


def test_sdk_errors_surface_as_api_errors(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(model="no-such-model", messages=SMALL_TALK)

    assert raised.value.status_code == 400
    assert "no-such-model" in str(raised.value)
