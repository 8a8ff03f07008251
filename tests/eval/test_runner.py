from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.classifiers.lexical import LexicalClassifier
from plano_extproc.config.model import Route
from plano_extproc.eval import EvalCase, EvalReport, evaluate, load_cases, load_routes
from plano_extproc.wire import Message, Role

ROOT = Path(__file__).resolve().parents[2]
LLM_APPS = ROOT / "eval" / "llm_apps"
ROUTES = (Route("a", "route a", ("m",)), Route("b", "route b", ("m",)))


def case(text: str, gold: str | None) -> EvalCase:
    return EvalCase((Message(Role.USER, text),), gold)


class ScriptedClassifier:
    """Answers each user text from a table after a random short delay; "boom" raises."""

    def __init__(self, answers: dict[str, str | None], seed: int = 0) -> None:
        self.answers = answers
        self.rng = random.Random(seed)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        await asyncio.sleep(self.rng.random() / 1000)
        text = messages[-1].text
        if text == "boom":
            raise ClassifierError("backend down")
        return self.answers[text]


def without_latency(report: EvalReport) -> dict[str, object]:
    document = report.to_json()
    del document["p50_ms"], document["p95_ms"]
    return document


async def test_outcomes_follow_the_engine_rules() -> None:
    cases = [case("x", "a"), case("y", "b"), case("boom", "a"), case("z", None)]
    # "y" answers a name outside the route set: like the engine, that is no route.
    classifier = ScriptedClassifier({"x": "a", "y": "not-a-route", "z": None})
    report = await evaluate(classifier, ROUTES, cases)
    assert (report.n, report.accuracy, report.errors) == (4, 0.5, 1)
    assert report.other_precision == 1 / 3
    a, b, _ = report.classes
    assert dict(a.confused_with) == {"other": 1}
    assert dict(b.confused_with) == {"other": 1}
    assert report.p50_ms is not None
    assert report.p50_ms > 0


async def test_progress_is_reported_after_each_decision() -> None:
    seen: list[tuple[int, int]] = []
    cases = [case("x", "a")] * 5
    await evaluate(
        ScriptedClassifier({"x": "a"}),
        ROUTES,
        cases,
        concurrency=2,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


async def test_concurrency_gives_the_same_metrics_as_one_at_a_time() -> None:
    texts = [f"t{i}" for i in range(40)]
    answers = {text: ("a", "b", None)[i % 3] for i, text in enumerate(texts)}
    cases = [case(text, ("a", None, "b", "a")[i % 4]) for i, text in enumerate(texts)]
    one = await evaluate(ScriptedClassifier(answers, seed=1), ROUTES, cases)
    many = await evaluate(ScriptedClassifier(answers, seed=2), ROUTES, cases, concurrency=8)
    assert without_latency(one) == without_latency(many)


async def test_concurrency_on_the_llm_apps_set_with_lexical() -> None:
    routes = load_routes(LLM_APPS / "routes.json")
    cases = load_cases(LLM_APPS / "cases.jsonl", routes)
    one = await evaluate(LexicalClassifier(), routes, cases)
    many = await evaluate(LexicalClassifier(), routes, cases, concurrency=16)
    assert without_latency(one) == without_latency(many)


async def test_no_cases_gives_an_empty_report() -> None:
    report = await evaluate(ScriptedClassifier({}), ROUTES, [], concurrency=4)
    assert (report.n, report.accuracy) == (0, None)


async def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await evaluate(ScriptedClassifier({}), ROUTES, [], concurrency=0)
