from __future__ import annotations

from plano_extproc.eval import EvalReport, Outcome
from plano_extproc.eval.table import format_report


def test_headline_and_class_rows() -> None:
    outcomes = [
        Outcome("a", "a", 1.0),
        Outcome("a", None, 3.0),
        Outcome("b", "a", 2.0),
        Outcome(None, None, 4.0),
    ]
    lines = format_report(EvalReport.from_outcomes(["a", "b"], outcomes)).splitlines()
    assert lines[:9] == [
        "cases                      4",
        "accuracy               50.0%",
        "in-route top-1         33.3%",
        "other precision        50.0%",
        "other recall          100.0%",
        "other F1               66.7%",
        "latency p50          2.50 ms",
        "latency p95          3.85 ms",
        "classifier errors          0",
    ]
    assert lines[10:] == [
        "gold   cases  precision  recall  mistaken for",
        "a          2      50.0%   50.0%  other x1",
        "b          1          -    0.0%  a x1",
        "other      1      50.0%  100.0%",
    ]


def test_undefined_values_and_long_confusion_lists() -> None:
    outcomes = [Outcome(None, name, 1.0) for name in ("a", "b", "c", "d")]
    report = EvalReport.from_outcomes(["a", "b", "c", "d"], outcomes)
    text = format_report(report)
    assert "in-route top-1             -" in text
    assert "other      4          -    0.0%  a x1, b x1, c x1, ..." in text
