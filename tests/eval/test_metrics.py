from __future__ import annotations

import json

import pytest

from plano_extproc.eval import EvalReport, Outcome
from plano_extproc.eval.metrics import percentile

ROUTE_NAMES = ("a", "b")
# gold, predicted, latency: 4 of 8 right; "other" is gold 3 times, predicted 4 times, right twice.
OUTCOMES = [
    Outcome("a", "a", 1.0),
    Outcome("a", "b", 2.0),
    Outcome("b", "b", 3.0),
    Outcome(None, None, 4.0),
    Outcome(None, "a", 5.0),
    Outcome("a", None, 6.0, failed=True),
    Outcome(None, None, 7.0),
    Outcome("b", None, 8.0),
]


def test_headline_metrics() -> None:
    report = EvalReport.from_outcomes(ROUTE_NAMES, OUTCOMES)
    assert report.n == 8
    assert report.accuracy == 0.5
    assert report.in_route_top1 == 2 / 5
    assert report.other_precision == 2 / 4
    assert report.other_recall == 2 / 3
    assert report.other_f1 == pytest.approx(4 / 7)  # 2PR / (P + R)
    assert report.p50_ms == 4.5
    assert report.p95_ms == pytest.approx(7.65)
    assert report.errors == 1


def test_per_class_summaries_list_routes_then_other() -> None:
    a, b, other = EvalReport.from_outcomes(ROUTE_NAMES, OUTCOMES).classes
    assert (a.name, a.support, a.predicted, a.correct) == ("a", 3, 2, 1)
    assert dict(a.confused_with) == {"b": 1, "other": 1}
    assert (b.precision, b.recall, dict(b.confused_with)) == (0.5, 0.5, {"other": 1})
    assert (other.name, other.support, other.predicted, other.correct) == ("other", 3, 4, 2)
    assert dict(other.confused_with) == {"a": 1}


def test_confusions_are_most_frequent_first() -> None:
    outcomes = [Outcome("a", None, 1.0), Outcome("a", "b", 1.0), Outcome("a", "b", 1.0)]
    [a, _, _] = EvalReport.from_outcomes(ROUTE_NAMES, outcomes).classes
    assert list(a.confused_with.items()) == [("b", 2), ("other", 1)]


def test_no_outcomes_leaves_every_ratio_undefined() -> None:
    report = EvalReport.from_outcomes(ROUTE_NAMES, [])
    assert report.n == report.errors == 0
    assert report.accuracy is report.in_route_top1 is None
    assert report.other_precision is report.other_recall is report.other_f1 is None
    assert report.p50_ms is report.p95_ms is None
    assert [(c.name, c.support, c.precision, c.recall, c.f1) for c in report.classes] == [
        ("a", 0, None, None, None),
        ("b", 0, None, None, None),
        ("other", 0, None, None, None),
    ]


def test_no_other_anywhere_leaves_other_metrics_undefined() -> None:
    report = EvalReport.from_outcomes(ROUTE_NAMES, [Outcome("a", "a", 1.0), Outcome("b", "a", 1.0)])
    assert (report.accuracy, report.in_route_top1) == (0.5, 0.5)
    assert report.other_precision is report.other_recall is report.other_f1 is None


def test_only_other_golds_never_predicted() -> None:
    report = EvalReport.from_outcomes(ROUTE_NAMES, [Outcome(None, "a", 1.0)])
    assert report.accuracy == 0.0
    assert report.in_route_top1 is None
    assert report.other_precision is None  # never predicted
    assert (report.other_recall, report.other_f1) == (0.0, 0.0)


def test_gold_outside_the_route_names_gets_its_own_row_before_other() -> None:
    report = EvalReport.from_outcomes(ROUTE_NAMES, [Outcome("z", "a", 1.0)])
    assert [c.name for c in report.classes] == ["a", "b", "z", "other"]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([3.0], 95, 3.0),
        ([2.0, 1.0], 50, 1.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([10.0, 20.0, 30.0], 75, 25.0),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    assert percentile(values, q) == expected


def test_to_json_is_plain_json() -> None:
    document = EvalReport.from_outcomes(ROUTE_NAMES, OUTCOMES).to_json()
    assert json.loads(json.dumps(document)) == document
    assert list(document) == [
        "n",
        "accuracy",
        "in_route_top1",
        "other_precision",
        "other_recall",
        "other_f1",
        "p50_ms",
        "p95_ms",
        "errors",
        "classes",
    ]
    assert document["classes"]["b"] == {
        "support": 2,
        "predicted": 2,
        "correct": 1,
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "confused_with": {"other": 1},
    }
