from __future__ import annotations

import pytest

from plano_extproc.config.model import ModelProvider
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.providers.registry import ProviderApi
from plano_extproc.wire import (
    JSON_CONTENT_TYPE,
    SSE_CONTENT_TYPE,
    Translation,
    is_upstream_stream,
    translation_for,
    upstream_translation,
    wire_api,
)
from plano_extproc.wire.events import (
    Failed,
    Finished,
    Started,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallStarted,
)
from plano_extproc.wire.ir import ApiError, ErrorKind, StopReason, Usage
from plano_extproc.wire.streams import _StreamOrder


@pytest.mark.parametrize(
    ("client", "upstream", "expected"),
    [
        (ClientApi.CHAT, ProviderApi.OPENAI, None),
        (ClientApi.CHAT, ProviderApi.ANTHROPIC, Translation.CHAT_TO_ANTHROPIC),
        (ClientApi.MESSAGES, ProviderApi.OPENAI, Translation.MESSAGES_TO_OPENAI),
        (ClientApi.MESSAGES, ProviderApi.ANTHROPIC, None),
        (ClientApi.RESPONSES, ProviderApi.OPENAI, Translation.RESPONSES_TO_OPENAI),
        (ClientApi.RESPONSES, ProviderApi.ANTHROPIC, Translation.RESPONSES_TO_ANTHROPIC),
        (ClientApi.CHAT, ProviderApi.BEDROCK, Translation.CHAT_TO_BEDROCK),
        (ClientApi.MESSAGES, ProviderApi.BEDROCK, Translation.MESSAGES_TO_BEDROCK),
        (ClientApi.RESPONSES, ProviderApi.BEDROCK, Translation.RESPONSES_TO_BEDROCK),
    ],
)
def test_translation_for(
    client: ClientApi, upstream: ProviderApi, expected: Translation | None
) -> None:
    assert translation_for(client, upstream) is expected


_CLAUDE = ModelProvider("anthropic/claude-x", "anthropic", "claude-x")
_CLAUDE_NATIVE = ModelProvider("anthropic/claude-y", "anthropic", "claude-y", native_messages=True)
_GPT = ModelProvider("openai/gpt-x", "openai", "gpt-x")
_LLAMA = ModelProvider("ollama/llama", "ollama", "llama")


@pytest.mark.parametrize(
    ("client", "provider", "wire", "translation"),
    [
        (ClientApi.CHAT, _CLAUDE, ProviderApi.OPENAI, None),
        (ClientApi.RESPONSES, _CLAUDE, ProviderApi.OPENAI, Translation.RESPONSES_TO_OPENAI),
        (ClientApi.MESSAGES, _CLAUDE, ProviderApi.ANTHROPIC, None),
        (ClientApi.CHAT, _CLAUDE_NATIVE, ProviderApi.ANTHROPIC, Translation.CHAT_TO_ANTHROPIC),
        (
            ClientApi.RESPONSES,
            _CLAUDE_NATIVE,
            ProviderApi.ANTHROPIC,
            Translation.RESPONSES_TO_ANTHROPIC,
        ),
        (ClientApi.RESPONSES, _GPT, ProviderApi.OPENAI, None),
        (ClientApi.MESSAGES, _GPT, ProviderApi.OPENAI, Translation.MESSAGES_TO_OPENAI),
        (ClientApi.RESPONSES, _LLAMA, ProviderApi.OPENAI, Translation.RESPONSES_TO_OPENAI),
        (ClientApi.CHAT, _LLAMA, ProviderApi.OPENAI, None),
    ],
)
def test_upstream_api_is_chosen_as_plano_does(
    client: ClientApi,
    provider: ModelProvider,
    wire: ProviderApi,
    translation: Translation | None,
) -> None:
    assert wire_api(client, provider) is wire
    assert upstream_translation(client, provider) is translation


@pytest.mark.parametrize(
    ("translation", "client", "upstream", "body_api"),
    [
        (Translation.CHAT_TO_ANTHROPIC, ClientApi.CHAT, ProviderApi.ANTHROPIC, ClientApi.MESSAGES),
        (Translation.MESSAGES_TO_OPENAI, ClientApi.MESSAGES, ProviderApi.OPENAI, ClientApi.CHAT),
        (
            Translation.RESPONSES_TO_ANTHROPIC,
            ClientApi.RESPONSES,
            ProviderApi.ANTHROPIC,
            ClientApi.MESSAGES,
        ),
        # Bedrock's path names the model and the operation, not a client API.
        (Translation.CHAT_TO_BEDROCK, ClientApi.CHAT, ProviderApi.BEDROCK, None),
        (Translation.MESSAGES_TO_BEDROCK, ClientApi.MESSAGES, ProviderApi.BEDROCK, None),
        (Translation.RESPONSES_TO_BEDROCK, ClientApi.RESPONSES, ProviderApi.BEDROCK, None),
    ],
)
def test_translation_sides(
    translation: Translation, client: ClientApi, upstream: ProviderApi, body_api: ClientApi | None
) -> None:
    assert (translation.client, translation.upstream, translation.upstream_body_api) == (
        client,
        upstream,
        body_api,
    )


def test_content_types() -> None:
    assert JSON_CONTENT_TYPE == "application/json"
    assert SSE_CONTENT_TYPE.startswith("text/event-stream")


@pytest.mark.parametrize(
    ("translation", "content_type", "streams"),
    [
        (Translation.CHAT_TO_ANTHROPIC, "text/event-stream; charset=utf-8", True),
        (Translation.MESSAGES_TO_OPENAI, "Text/Event-Stream", True),
        (Translation.CHAT_TO_ANTHROPIC, "application/json", False),
        (Translation.CHAT_TO_ANTHROPIC, "application/vnd.amazon.eventstream", False),
        (Translation.CHAT_TO_BEDROCK, "application/vnd.amazon.eventstream", True),
        (Translation.RESPONSES_TO_BEDROCK, "application/vnd.amazon.eventstream", True),
        (Translation.MESSAGES_TO_BEDROCK, "text/event-stream", False),
        (Translation.MESSAGES_TO_BEDROCK, "application/json", False),
        (Translation.MESSAGES_TO_BEDROCK, "", False),
    ],
)
def test_a_stream_is_recognised_by_the_upstream_apis_content_type(
    translation: Translation, content_type: str, streams: bool
) -> None:
    assert is_upstream_stream(translation, content_type) is streams


FINISHED = Finished(StopReason.END_TURN, Usage())
FAILED = Failed(ApiError(ErrorKind.SERVER, "x"))


def test_stream_order_admits_a_well_formed_stream_as_is() -> None:
    events = [
        Started("id", "m", 1),
        TextDelta("a"),
        ToolCallStarted(0, "c", "f"),
        ToolArgumentsDelta(0, "{}"),
        FINISHED,
    ]
    order = _StreamOrder(7)

    assert [admitted for event in events for admitted in order.admit(event)] == events
    assert order.ended


def test_stream_order_repairs_what_it_can_and_drops_the_rest() -> None:
    order = _StreamOrder(7)

    assert order.admit(ToolArgumentsDelta(3, "{}")) == []
    assert order.admit(TextDelta("a")) == [Started("", "", 7), TextDelta("a")]
    assert order.admit(Started("late", "m", 1)) == []
    assert order.admit(ToolCallStarted(0, "c", "f")) == [ToolCallStarted(0, "c", "f")]
    assert order.admit(ToolCallStarted(0, "c", "f")) == []
    assert order.admit(FAILED) == [FAILED]
    assert order.admit(TextDelta("after")) == []
    assert order.admit(FINISHED) == []


def test_stream_order_lets_a_failure_come_first() -> None:
    order = _StreamOrder(7)

    assert order.admit(FAILED) == [FAILED]
    assert order.admit(Started("id", "m", 1)) == []
