"""The embedded classifier with the real all-MiniLM-L6-v2 model (loaded once per session)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import torch

from plano_extproc.api.conversation import Message, Role
from plano_extproc.classifiers.embedded import (
    DEFAULT_THRESHOLD,
    EmbeddedClassifier,
    Query,
    build_query,
)
from plano_extproc.classifiers.encoder import SentenceEncoder, load_encoder
from plano_extproc.classifiers.factory import build_classifier
from plano_extproc.classifiers.route_index import RouteIndex, route_texts
from plano_extproc.config import load_config
from plano_extproc.config.model import ClassifierSettings, ClassifierType, Route

EXAMPLE = load_config(
    Path(__file__).resolve().parents[2] / "config.example.yaml", require_keys=False
)
ROUTES = EXAMPLE.routes
THRESHOLD = EXAMPLE.routing.classifier.threshold
INLINE = (
    Route("coding", "writing code, code generation and debugging", ("m",)),
    Route("general", "simple questions and conversation", ("m",)),
)


def user(text: str) -> Message:
    return Message(Role.USER, text)


def _refuse_connections(*_: object) -> None:
    raise AssertionError("the embedded classifier tried to open a network connection")


@pytest.fixture(scope="module")
def encoder() -> Iterator[SentenceEncoder]:
    """The process-wide model; loaded here with every outgoing connection refused."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse_connections)
        yield load_encoder()


@asynccontextmanager
async def started(classifier: EmbeddedClassifier) -> AsyncIterator[EmbeddedClassifier]:
    await classifier.start()
    try:
        yield classifier
    finally:
        await classifier.close()


@pytest.fixture
async def classifier(encoder: SentenceEncoder) -> AsyncIterator[EmbeddedClassifier]:
    async with started(EmbeddedClassifier(THRESHOLD, ROUTES)) as ready:
        yield ready


def test_loads_offline(encoder: SentenceEncoder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


@pytest.mark.parametrize(
    ("routes", "text", "expected"),
    [
        (ROUTES, "Write a Python function that implements binary search", "code_generation"),
        (
            ROUTES,
            "Explain the trade-offs between microservices and monolithic architectures",
            "complex_reasoning",
        ),
        (ROUTES, "What is the capital of France?", None),
        (
            ROUTES,
            "Create a REST API endpoint in Rust using actix-web that handles user registration",
            "code_generation",
        ),
        (ROUTES, "Build a React component that renders a sortable data table", "code_generation"),
        (INLINE, "Write quicksort in Go", "coding"),
    ],
)
async def test_seed_demo_requests(
    classifier: EmbeddedClassifier, routes: tuple[Route, ...], text: str, expected: str | None
) -> None:
    assert await classifier.classify(routes, [user(text)]) == expected


async def test_no_user_text_is_no_route(classifier: EmbeddedClassifier) -> None:
    assert await classifier.classify(ROUTES, [Message(Role.SYSTEM, "be brief")]) is None
    assert await classifier.classify((), [user("Write quicksort in Go")]) is None


async def test_threshold_override(encoder: SentenceEncoder) -> None:
    text = [user("Write a Python function that implements binary search")]
    async with started(EmbeddedClassifier(0.9, ROUTES)) as strict:
        assert await strict.classify(ROUTES, text) is None
    settings = ClassifierSettings(type=ClassifierType.EMBEDDED, threshold=0.5)
    assert build_classifier(settings).threshold == 0.5  # type: ignore[attr-defined]
    assert EmbeddedClassifier().threshold == DEFAULT_THRESHOLD


async def test_short_follow_up_borrows_previous_user_turn(classifier: EmbeddedClassifier) -> None:
    follow_up = "and now in Kotlin?"
    assert await classifier.classify(ROUTES, [user(follow_up)]) is None
    conversation = [
        Message(Role.SYSTEM, "You are a helpful assistant."),
        user("Write a Python function that implements binary search"),
        Message(Role.ASSISTANT, "def search(items, target): ..."),
        user(follow_up),
    ]
    assert await classifier.classify(ROUTES, conversation) == "code_generation"


def test_only_short_latest_turns_are_follow_ups() -> None:
    first = user("Write a Python function that implements binary search")
    assert build_query([first, user("  And in   GO? ")]) == Query("and in go?", first.text.lower())
    long_turn = "What is the capital city of France these days?"
    assert build_query([first, user(long_turn)]) == Query(long_turn.lower())


def test_route_texts_split_the_description_into_phrases() -> None:
    route = Route(
        "code_generation", "writing functions, or creating boilerplate", ("m",), (), ("x",)
    )
    assert route_texts(route) == [
        "code generation",
        "writing functions",
        "creating boilerplate",
        "x",
    ]


async def test_route_set_is_embedded_once(
    classifier: EmbeddedClassifier, encoder: SentenceEncoder
) -> None:
    inline = (Route("poetry", "writing poems, haiku and song lyrics", ("m",)), *INLINE)
    await classifier.classify(inline, [user("Write a haiku about autumn")])
    passes = encoder.forward_passes
    assert await classifier.classify(inline, [user("Compose a sonnet about the sea")]) == "poetry"
    assert encoder.forward_passes == passes + 1  # the query only


async def test_concurrent_requests_share_one_forward_pass(
    classifier: EmbeddedClassifier, encoder: SentenceEncoder
) -> None:
    texts = [f"Write a function number {n} that reverses a string" for n in range(16)]
    passes = encoder.forward_passes
    routes = await asyncio.gather(*(classifier.classify(ROUTES, [user(t)]) for t in texts))
    assert encoder.forward_passes == passes + 1
    assert set(routes) == {"code_generation"}


async def test_repeated_conversation_is_answered_from_the_decision_cache(
    classifier: EmbeddedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored = []
    original = RouteIndex.scores

    def counting(index: RouteIndex, query: torch.Tensor) -> list[float]:
        scored.append(query)
        return original(index, query)

    monkeypatch.setattr(RouteIndex, "scores", counting)
    first = await classifier.classify(ROUTES, [user("Implement a trie in Java")])
    again = await classifier.classify(ROUTES, [user("implement a  TRIE in java")])
    assert (first, again, len(scored)) == ("code_generation", "code_generation", 1)


async def test_inference_does_not_block_the_event_loop(classifier: EmbeddedClassifier) -> None:
    # A new route set with many long phrases: several forward passes, a few hundred ms.
    phrase = "a long description of a task that somebody might want done, with many words in it"
    heavy = tuple(
        Route(f"r{n}", ", ".join([f"{phrase} {n}.{i}" for i in range(8)]), ("m",))
        for n in range(12)
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started_at = time.perf_counter()
    await classifier.classify(heavy, [user("Write quicksort in Go")])
    elapsed = time.perf_counter() - started_at
    ticker.cancel()
    assert elapsed > 0.05
    assert ticks >= 10


def test_batching_and_padding_do_not_change_embeddings(encoder: SentenceEncoder) -> None:
    long_text = " ".join(["tokens"] * 200)  # truncated to the model's limit
    texts = ["hi", long_text, "Write quicksort in Go", *[long_text + f" {n}" for n in range(20)]]
    passes = encoder.forward_passes
    together = encoder.encode(texts)
    assert encoder.forward_passes - passes > 1  # long texts are not padded into one batch
    alone = torch.cat([encoder.encode([text]) for text in texts])
    assert torch.allclose(together, alone, atol=1e-5)
