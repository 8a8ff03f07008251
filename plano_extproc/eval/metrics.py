"""Routing accuracy and latency from per-case outcomes.

"other" (no route) is a class like any route: a case is right when the prediction equals the
gold, "other" included. A ratio whose denominator is zero is None (JSON null), never 0: a dataset
without "other" cases has no "other" recall to report.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from plano_extproc.eval.dataset import OTHER


@dataclass(frozen=True, slots=True)
class Outcome:
    """One decision: gold and predicted route names (None for "other"), the time classify()
    took, and whether it raised (the prediction is then None, as the routing engine falls back)."""

    gold: str | None
    predicted: str | None
    latency_ms: float
    failed: bool = False


@dataclass(frozen=True, slots=True)
class ClassSummary:
    """How one route (or "other") fared: `support` cases have it as gold, `predicted` cases were
    given it, `correct` both; `confused_with` counts the wrong predictions for its gold cases."""

    name: str
    support: int
    predicted: int
    correct: int
    confused_with: Mapping[str, int]

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.correct, self.support)

    @property
    def f1(self) -> float | None:
        # 2TP / (2TP + FP + FN): equal to 2PR / (P + R), and defined whenever either side is.
        return _ratio(2 * self.correct, self.support + self.predicted)

    def to_json(self) -> dict[str, Any]:
        return {
            "support": self.support,
            "predicted": self.predicted,
            "correct": self.correct,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "confused_with": dict(self.confused_with),
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    n: int
    accuracy: float | None
    in_route_top1: float | None
    other_precision: float | None
    other_recall: float | None
    other_f1: float | None
    p50_ms: float | None
    p95_ms: float | None
    errors: int
    classes: tuple[ClassSummary, ...]

    @classmethod
    def from_outcomes(cls, route_names: Sequence[str], outcomes: Sequence[Outcome]) -> EvalReport:
        """`classes` lists `route_names` in order, any other gold seen, then "other"."""
        classes = tuple(_summaries(route_names, outcomes))
        other = classes[-1]
        in_route = [o for o in outcomes if o.gold is not None]
        latencies = [o.latency_ms for o in outcomes]
        return cls(
            n=len(outcomes),
            accuracy=_ratio(_correct(outcomes), len(outcomes)),
            in_route_top1=_ratio(_correct(in_route), len(in_route)),
            other_precision=other.precision,
            other_recall=other.recall,
            other_f1=other.f1,
            p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95),
            errors=sum(o.failed for o in outcomes),
            classes=classes,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "in_route_top1": self.in_route_top1,
            "other_precision": self.other_precision,
            "other_recall": self.other_recall,
            "other_f1": self.other_f1,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "errors": self.errors,
            "classes": {summary.name: summary.to_json() for summary in self.classes},
        }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile, interpolating linearly between the closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _correct(outcomes: Sequence[Outcome]) -> int:
    return sum(o.predicted == o.gold for o in outcomes)


def _label(name: str | None) -> str:
    return OTHER if name is None else name


def _summaries(route_names: Sequence[str], outcomes: Sequence[Outcome]) -> list[ClassSummary]:
    golds = Counter(_label(o.gold) for o in outcomes)
    predictions = Counter(_label(o.predicted) for o in outcomes)
    mistakes: dict[str, Counter[str]] = {}
    for o in outcomes:
        if o.predicted != o.gold:
            mistakes.setdefault(_label(o.gold), Counter())[_label(o.predicted)] += 1
    names = dict.fromkeys([*route_names, *golds])
    names.pop(OTHER, None)
    return [
        _summary(name, golds[name], predictions[name], mistakes.get(name, Counter()))
        for name in [*names, OTHER]
    ]


def _summary(name: str, support: int, predicted: int, mistakes: Counter[str]) -> ClassSummary:
    return ClassSummary(
        name=name,
        support=support,
        predicted=predicted,
        correct=support - mistakes.total(),
        confused_with=MappingProxyType(dict(mistakes.most_common())),
    )
