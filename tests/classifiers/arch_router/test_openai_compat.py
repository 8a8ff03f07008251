from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from plano_extproc.classifiers.arch_router.openai_compat import (
    BREAKER_COOLDOWN_SECONDS,
    BREAKER_THRESHOLD,
    OpenAICompatibleClassifier,
    completions_url,
)
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.classifiers.factory import build_classifier
from plano_extproc.config.model import (
    ClassifierSettings,
    ClassifierType,
    OpenAIClassifierSettings,
    Route,
)
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role
from tests.support.clock import FakeClock
from tests.support.upstream import JsonReply, UpstreamServer, running_upstream

ROUTES = (
    Route("code_generation", "generating new code", ("m",)),
    Route("complex_reasoning", "multi-step analysis", ("m",)),
)
MESSAGES = [Message(Role.SYSTEM, "be nice"), Message(Role.USER, "Write a Python function")]
PATH = "/v1/chat/completions"


def answer(content: object) -> JsonReply:
    return JsonReply(200, {"choices": [{"message": {"role": "assistant", "content": content}}]})


@pytest.fixture(scope="module")
def server() -> Iterator[UpstreamServer]:
    with running_upstream() as upstream:
        yield upstream


@pytest.fixture
async def classifier(server: UpstreamServer) -> AsyncIterator[OpenAICompatibleClassifier]:
    server.reset()
    settings = OpenAIClassifierSettings(base_url=server.url, access_key="router-key")
    router = OpenAICompatibleClassifier(settings)
    await router.start()
    yield router
    await router.close()


async def test_sends_the_arch_router_prompt_and_reads_the_route(
    server: UpstreamServer, classifier: OpenAICompatibleClassifier
) -> None:
    server.script(PATH, answer('{"route": "code_generation"}'))
    assert await classifier.classify(ROUTES, MESSAGES) == "code_generation"
    sent = server.requests_to(PATH)[0]
    assert sent.headers["authorization"] == "Bearer router-key"
    assert sent.json["model"] == "Arch-Router"
    assert sent.json["temperature"] == 0.01
    [message] = sent.json["messages"]
    assert message["role"] == "user"
    assert message["content"].startswith("\nYou are a helpful assistant")
    assert '[{"role":"user","content":"Write a Python function"}]' in message["content"]


@pytest.mark.parametrize("content", ['{"route": "other"}', '{"route": "poetry"}', ""])
async def test_no_route_answers(
    server: UpstreamServer, classifier: OpenAICompatibleClassifier, content: str
) -> None:
    server.script(PATH, answer(content))
    assert await classifier.classify(ROUTES, MESSAGES) is None


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (JsonReply(500, {"error": "boom"}), "HTTP 500"),
        (JsonReply(200, {"choices": []}), "no choices"),
        (answer(None), "not a string"),
        (answer('{"route": "code_gen'), "not valid JSON"),
    ],
)
async def test_bad_replies_raise_classifier_errors(
    server: UpstreamServer, classifier: OpenAICompatibleClassifier, reply: JsonReply, message: str
) -> None:
    server.script(PATH, reply)
    with pytest.raises(ClassifierError, match=message):
        await classifier.classify(ROUTES, MESSAGES)


async def test_unreachable_server_is_a_classifier_error() -> None:
    router = OpenAICompatibleClassifier(OpenAIClassifierSettings(base_url="http://127.0.0.1:9"))
    await router.start()
    with pytest.raises(ClassifierError, match="router request failed"):
        await router.classify(ROUTES, MESSAGES)
    await router.close()


async def test_use_before_start_is_an_error() -> None:
    router = OpenAICompatibleClassifier(OpenAIClassifierSettings(base_url="http://x"))
    with pytest.raises(ClassifierError, match="before start"):
        await router.classify(ROUTES, MESSAGES)


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://vllm:8000", "http://vllm:8000/v1/chat/completions"),
        ("http://vllm:8000/v1", "http://vllm:8000/v1/chat/completions"),
        ("https://host/prefix/", "https://host/prefix/chat/completions"),
    ],
)
def test_completions_url(base_url: str, url: str) -> None:
    assert completions_url(base_url) == url


def test_factory_builds_it() -> None:
    settings = ClassifierSettings(
        type=ClassifierType.OPENAI, openai=OpenAIClassifierSettings(base_url="http://x")
    )
    assert isinstance(build_classifier(settings), OpenAICompatibleClassifier)


async def test_a_failing_server_is_skipped_for_a_cool_down_then_probed() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    clock = FakeClock()
    router = OpenAICompatibleClassifier(
        OpenAIClassifierSettings(base_url="http://router.invalid"),
        transport=httpx.MockTransport(refuse),
        clock=clock,
    )
    await router.start()
    for _ in range(BREAKER_THRESHOLD):
        with pytest.raises(ClassifierError, match="router request failed"):
            await router.classify(ROUTES, MESSAGES)
    with pytest.raises(ClassifierError, match="cool-down"):
        await router.classify(ROUTES, MESSAGES)
    assert calls == BREAKER_THRESHOLD

    clock.advance(BREAKER_COOLDOWN_SECONDS)
    with pytest.raises(ClassifierError, match="router request failed"):
        await router.classify(ROUTES, MESSAGES)
    assert calls == BREAKER_THRESHOLD + 1
    await router.close()


async def test_a_deadline_miss_counts_as_a_failure() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(200)

    router = OpenAICompatibleClassifier(
        OpenAIClassifierSettings(base_url="http://router.invalid"),
        transport=httpx.MockTransport(hang),
    )
    await router.start()
    for _ in range(BREAKER_THRESHOLD):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await router.classify(ROUTES, MESSAGES)
    with pytest.raises(ClassifierError, match="cool-down"):
        await router.classify(ROUTES, MESSAGES)
    await router.close()
