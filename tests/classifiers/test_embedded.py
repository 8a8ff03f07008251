"""The embedded classifier with the real all-MiniLM-L6-v2 model (loaded once per process)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest

from plano_extproc.classifiers.embedded import (
    DEFAULT_MIN_Z,
    EmbeddedClassifier,
    Query,
    build_query,
    cgroup_cpu_quota,
    inference_workers,
)
from plano_extproc.classifiers.encoder import SentenceEncoder, load_encoder
from plano_extproc.classifiers.factory import build_classifier
from plano_extproc.classifiers.route_index import RouteIndex
from plano_extproc.config import load_config
from plano_extproc.config.model import ClassifierSettings, ClassifierType, Route
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role

EXAMPLE = load_config(
    Path(__file__).resolve().parents[2] / "config.example.yaml", require_keys=False
)
ROUTES = EXAMPLE.routes
# Plano's demo routes exactly as Plano users write them: a name and a description, nothing else.
PLANO_DEMO = (
    Route(
        "code_generation",
        "generating new code snippets, writing functions, or creating boilerplate",
        ("anthropic/claude-sonnet-4-20250514", "openai/gpt-4o"),
    ),
    Route(
        "complex_reasoning",
        "complex reasoning tasks, multi-step analysis, or detailed explanations",
        ("openai/gpt-4o", "openai/gpt-4o-mini"),
    ),
)
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
    async with started(EmbeddedClassifier(routes=ROUTES)) as ready:
        yield ready


def test_torch_is_not_loaded(encoder: SentenceEncoder) -> None:
    import sys

    assert "torch" not in sys.modules
    assert "sentence_transformers" not in sys.modules


@pytest.mark.parametrize(
    ("routes", "text", "expected"),
    [
        (PLANO_DEMO, "Write a Python function that implements binary search", "code_generation"),
        (
            PLANO_DEMO,
            "Explain the trade-offs between microservices and monolithic architectures",
            "complex_reasoning",
        ),
        (
            PLANO_DEMO,
            "Create a REST API endpoint in Rust using actix-web that handles user registration",
            "code_generation",
        ),
        (PLANO_DEMO, "What is the capital of France?", None),
        (ROUTES, "Write a Python function that implements binary search", "code_generation"),
        (ROUTES, "What is the capital of France?", None),
        (INLINE, "Write quicksort in Go", "coding"),
    ],
)
async def test_descriptions_alone_route_the_demo_requests(
    classifier: EmbeddedClassifier, routes: tuple[Route, ...], text: str, expected: str | None
) -> None:
    assert await classifier.classify(routes, [user(text)]) == expected


async def test_no_user_text_is_no_route(classifier: EmbeddedClassifier) -> None:
    assert await classifier.classify(ROUTES, [Message(Role.SYSTEM, "be brief")]) is None
    assert await classifier.classify((), [user("Write quicksort in Go")]) is None


async def test_threshold_overrides_the_calibrated_minimum(encoder: SentenceEncoder) -> None:
    text = [user("Write a Python function that implements binary search")]
    async with started(EmbeddedClassifier(50.0, PLANO_DEMO)) as strict:
        assert await strict.classify(PLANO_DEMO, text) is None
    settings = ClassifierSettings(type=ClassifierType.EMBEDDED, threshold=2.5)
    assert build_classifier(settings).threshold == 2.5  # type: ignore[attr-defined]
    assert EmbeddedClassifier().threshold == DEFAULT_MIN_Z


async def test_short_follow_up_borrows_previous_user_turn(classifier: EmbeddedClassifier) -> None:
    follow_up = "and now in Kotlin?"
    assert await classifier.classify(PLANO_DEMO, [user(follow_up)]) is None
    conversation = [
        Message(Role.SYSTEM, "You are a helpful assistant."),
        user("Write a Python function that implements binary search"),
        Message(Role.ASSISTANT, "def search(items, target): ..."),
        user(follow_up),
    ]
    assert await classifier.classify(PLANO_DEMO, conversation) == "code_generation"


async def test_a_tool_result_tail_keeps_the_user_request(classifier: EmbeddedClassifier) -> None:
    request = "Write a Python function that implements binary search"
    agent_loop = [
        Message(Role.SYSTEM, "You can run code."),
        user(request),
        Message(Role.ASSISTANT, "Running the tests now."),
        Message(Role.TOOL, "Ran 3 tests in 0.01s. OK. The weather in Paris is sunny."),
    ]
    assert build_query(agent_loop) == build_query([user(request)])
    assert await classifier.classify(PLANO_DEMO, agent_loop) == "code_generation"


async def test_a_system_prompt_does_not_move_the_decision(classifier: EmbeddedClassifier) -> None:
    greeting = [Message(Role.SYSTEM, "You are an expert Python programmer."), user("hi there!")]
    assert await classifier.classify(PLANO_DEMO, greeting) is None


def test_only_short_latest_turns_are_follow_ups() -> None:
    first = user("Write a Python function that implements binary search")
    assert build_query([first, user("  And in   GO? ")]) == Query(
        "and in go?", context=first.text.lower()
    )
    long_turn = "What is the capital city of France these days?"
    assert build_query([first, user(long_turn)]) == Query(long_turn.lower())


def test_a_long_turn_also_embeds_its_first_sentence() -> None:
    query = build_query([user("Summarize this article.\n\nThe city council met on Monday...")])
    assert query is not None
    assert query.head == "summarize this article."
    assert query.texts == [query.latest, "summarize this article."]
    assert query.weights == [1.0, 0.5]
    assert build_query([user("one sentence only")]) == Query("one sentence only")


def test_query_vector_is_the_weighted_unit_sum() -> None:
    query = Query("a", context="b")
    vector = query.vector(np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    assert np.allclose(vector, np.array([1.0, 0.75]) / np.hypot(1.0, 0.75))


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
    decided = []
    original = RouteIndex.decide

    def counting(index: RouteIndex, *args: object) -> str | None:
        decided.append(args)
        return original(index, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(RouteIndex, "decide", counting)
    first = await classifier.classify(ROUTES, [user("Implement a trie in Java")])
    again = await classifier.classify(ROUTES, [user("implement a  TRIE in java")])
    assert (first, again, len(decided)) == ("code_generation", "code_generation", 1)


def _heavy_routes(count: int, tag: str) -> tuple[Route, ...]:
    phrase = "a long description of a task that somebody might want done, with many words in it"
    return tuple(
        Route(f"{tag}{n}", ", ".join(f"{phrase} {tag} {n}.{i}" for i in range(10)), ("m",))
        for n in range(count)
    )


async def test_inference_does_not_block_the_event_loop(classifier: EmbeddedClassifier) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started_at = time.perf_counter()
    await classifier.classify(_heavy_routes(12, "loop"), [user("Write quicksort in Go")])
    elapsed = time.perf_counter() - started_at
    ticker.cancel()
    assert elapsed > 0.05
    assert ticks >= 10


async def test_a_big_inline_route_set_does_not_starve_config_decisions(
    classifier: EmbeddedClassifier,
) -> None:
    """The heavy set is embedded in slices behind queries, so config-route decisions made
    while it is indexed are answered between slices, long before the set is ready."""
    heavy = asyncio.create_task(
        classifier.classify(_heavy_routes(32, "big"), [user("Write quicksort in Go")])
    )
    await asyncio.sleep(0.02)  # the index build is under way
    for n in range(5):
        route = await classifier.classify(
            ROUTES, [user(f"Write a Python function that implements binary search, variant {n}")]
        )
        assert route == "code_generation"
    assert not heavy.done()
    result = await heavy
    assert result is None or result.startswith("big")


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("max 100000\n", None), ("150000 100000\n", 1.5), ("100000 100000", 1.0), ("", None)],
)
def test_cgroup_cpu_quota(tmp_path: Path, cpu_max: str, expected: float | None) -> None:
    limit = tmp_path / "cpu.max"
    limit.write_text(cpu_max)
    assert cgroup_cpu_quota(limit) == expected


def test_inference_workers_respect_a_container_cpu_limit(tmp_path: Path) -> None:
    limit = tmp_path / "cpu.max"
    limit.write_text("50000 100000\n")
    assert inference_workers(limit) == 1
    assert inference_workers(tmp_path / "missing") == max(1, len(os.sched_getaffinity(0)))
