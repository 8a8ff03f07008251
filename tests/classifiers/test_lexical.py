from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from plano_extproc.classifiers import lexical
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.classifiers.lexical import LexicalClassifier, RouteIndex, query_terms, terms
from plano_extproc.config.model import Route
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role

CODE = Route(
    "code_generation",
    "generating new code snippets, writing functions, or creating boilerplate",
    ("m",),
    examples=("Build a React component",),
)
REASONING = Route(
    "complex_reasoning",
    "complex reasoning tasks, multi-step analysis, or detailed explanations",
    ("m",),
    examples=("Explain the trade-offs between two designs",),
)
ROUTES = (CODE, REASONING)


def user(text: str) -> Message:
    return Message(Role.USER, text)


def test_terms_drop_stopwords_and_share_stems() -> None:
    assert terms("Writing the functions") == terms("write function")
    assert terms("what is it") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write a Python function that implements binary search", "code_generation"),
        ("Build a React component that renders a sortable data table", "code_generation"),
        ("Create a REST API endpoint in Rust using actix-web", "code_generation"),
        ("Explain the trade-offs between microservices and monoliths", "complex_reasoning"),
        ("What is the capital of France?", None),
        ("", None),
    ],
)
async def test_demo_requests(text: str, expected: str | None) -> None:
    assert await LexicalClassifier().classify(ROUTES, [user(text)]) == expected


async def test_short_follow_up_borrows_previous_user_turn() -> None:
    messages = [
        user("Write a Python function for binary search"),
        Message(Role.ASSISTANT, "def search(xs, x): ..."),
        user("and in Go?"),
    ]
    assert await LexicalClassifier().classify(ROUTES, messages) == "code_generation"


def test_long_latest_turn_stands_alone() -> None:
    messages = [user("Write a Python function"), user("What is the capital city of France?")]
    assert query_terms(messages) == terms("What is the capital city of France?")


def test_only_assistant_text_gives_no_query() -> None:
    assert query_terms([Message(Role.ASSISTANT, "write code")]) == []


def test_threshold_controls_no_match() -> None:
    strict = LexicalClassifier(threshold=100.0)
    assert strict.best_route(ROUTES, [user("Write a Python function")]) is None


def test_index_is_cached_per_route_set() -> None:
    classifier = LexicalClassifier()

    assert classifier.index(ROUTES) is classifier.index(ROUTES)
    assert classifier.index(ROUTES) is not classifier.index((CODE,))


def test_index_size_estimate_grows_with_route_text() -> None:
    index = lexical.build_index(ROUTES)
    chars = sum(len(text) for route in ROUTES for text in lexical._route_texts(route))

    assert lexical._index_size(ROUTES, index) == chars * lexical._INDEX_BYTES_PER_CHAR


def test_index_cache_is_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    big = (Route("big", "word " * 1000, ("m",)),)
    fits = lexical._index_size(ROUTES, lexical.build_index(ROUTES))
    monkeypatch.setattr(lexical, "_INDEX_CACHE_BYTES", fits)
    classifier = LexicalClassifier()

    assert classifier.index(ROUTES) is classifier.index(ROUTES)
    assert classifier.index(big) is not classifier.index(big)


async def test_classify_works_off_the_event_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: dict[str, int] = {}
    real_build, real_scores = lexical.build_index, RouteIndex.scores

    def build(routes: tuple[Route, ...]) -> RouteIndex:
        threads["build"] = threading.get_ident()
        return real_build(routes)

    def scores(index: RouteIndex, query: Sequence[str]) -> dict[str, float]:
        threads["scores"] = threading.get_ident()
        return real_scores(index, query)

    monkeypatch.setattr(lexical, "build_index", build)
    monkeypatch.setattr(RouteIndex, "scores", scores)
    classifier = LexicalClassifier()

    assert await classifier.classify(ROUTES, [user("Write a Python function")]) == CODE.name
    assert set(threads) == {"build", "scores"}
    assert threading.get_ident() not in threads.values()
    await classifier.close()


async def test_close_shuts_the_worker_down() -> None:
    classifier = LexicalClassifier()
    assert await classifier.classify(ROUTES, [user("Write a Python function")]) == CODE.name

    await classifier.close()

    with pytest.raises(RuntimeError, match="shutdown"):
        await classifier.classify(ROUTES, [user("Write a Python function")])


def test_ties_keep_config_order() -> None:
    twins = (Route("first", "write code", ("m",)), Route("second", "write code", ("m",)))
    assert LexicalClassifier(threshold=0.0).best_route(twins, [user("write code")]) == "first"


async def test_no_routes_means_no_route() -> None:
    assert await LexicalClassifier().classify((), [user("write code")]) is None


async def test_classifications_waiting_for_the_worker_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lexical, "MAX_QUEUED", 2)
    classifier = LexicalClassifier()
    release = threading.Event()
    best_route = classifier.best_route

    def blocked(routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        release.wait(10)
        return best_route(routes, messages)

    monkeypatch.setattr(classifier, "best_route", blocked)
    waiting = [
        asyncio.create_task(classifier.classify(ROUTES, [user("write code")])) for _ in range(2)
    ]
    await asyncio.sleep(0)
    with pytest.raises(ClassifierError, match="waiting"):
        await classifier.classify(ROUTES, [user("write code")])
    release.set()
    await asyncio.gather(*waiting)
    # Freed again once the work ends.
    assert await classifier.classify(ROUTES, [user("write a Python function")]) is not None
    await classifier.close()
