"""Runs a classifier over labelled cases, `concurrency` decisions at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from plano_extproc.classifiers.base import Classifier
from plano_extproc.config.model import Route
from plano_extproc.eval.dataset import EvalCase
from plano_extproc.eval.metrics import EvalReport, Outcome

ProgressCallback = Callable[[int, int], None]


async def evaluate(
    classifier: Classifier,
    routes: tuple[Route, ...],
    cases: Sequence[EvalCase],
    *,
    concurrency: int = 1,
    on_progress: ProgressCallback | None = None,
) -> EvalReport:
    """Classify every case with a started `classifier` (the caller owns start() and close()).

    `on_progress(done, total)` is called after each decision. Outcomes keep the cases' order, so
    everything but latency is the same whatever the concurrency.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    outcomes: dict[int, Outcome] = {}
    # One iterator shared by the workers: each takes the next case as soon as it is free.
    pending = enumerate(cases)

    async def work() -> None:
        for index, case in pending:
            outcomes[index] = await _decide(classifier, routes, case)
            if on_progress is not None:
                on_progress(len(outcomes), len(cases))

    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(cases))):
            group.create_task(work())
    return EvalReport.from_outcomes(
        [route.name for route in routes], [outcomes[index] for index in range(len(cases))]
    )


async def _decide(classifier: Classifier, routes: tuple[Route, ...], case: EvalCase) -> Outcome:
    started = time.perf_counter()
    try:
        name = await classifier.classify(routes, case.messages)
    except Exception:
        # As in the routing engine: a failing classifier means no route for this request.
        return Outcome(case.gold, None, _elapsed_ms(started), failed=True)
    latency_ms = _elapsed_ms(started)
    # The engine also treats a name outside the route set as no route.
    predicted = name if any(route.name == name for route in routes) else None
    return Outcome(case.gold, predicted, latency_ms)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
