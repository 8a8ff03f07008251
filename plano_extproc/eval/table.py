"""The human-readable rendering of an EvalReport: headline metrics, then one row per class."""

from __future__ import annotations

from plano_extproc.eval.metrics import ClassSummary, EvalReport

_MISSING = "-"
# Beyond this many, a class's confusions are summed up as "...".
_CONFUSIONS_SHOWN = 3


def format_report(report: EvalReport) -> str:
    return "\n".join([*_headline(report), "", *_class_table(report.classes)])


def _percent(value: float | None) -> str:
    return _MISSING if value is None else f"{value:.1%}"


def _millis(value: float | None) -> str:
    return _MISSING if value is None else f"{value:.2f} ms"


def _headline(report: EvalReport) -> list[str]:
    rows = [
        ("cases", str(report.n)),
        ("accuracy", _percent(report.accuracy)),
        ("in-route top-1", _percent(report.in_route_top1)),
        ("other precision", _percent(report.other_precision)),
        ("other recall", _percent(report.other_recall)),
        ("other F1", _percent(report.other_f1)),
        ("latency p50", _millis(report.p50_ms)),
        ("latency p95", _millis(report.p95_ms)),
        ("classifier errors", str(report.errors)),
    ]
    return [f"{name:<18}{value:>10}" for name, value in rows]


def _confusions(summary: ClassSummary) -> str:
    shown = [f"{name} x{count}" for name, count in summary.confused_with.items()]
    if len(shown) > _CONFUSIONS_SHOWN:
        shown = [*shown[:_CONFUSIONS_SHOWN], "..."]
    return ", ".join(shown)


def _class_table(classes: tuple[ClassSummary, ...]) -> list[str]:
    width = max(len("gold"), *(len(summary.name) for summary in classes))
    header = f"{'gold':<{width}}  {'cases':>5}  {'precision':>9}  {'recall':>6}  mistaken for"
    rows = [
        f"{s.name:<{width}}  {s.support:>5}  {_percent(s.precision):>9}  "
        f"{_percent(s.recall):>6}  {_confusions(s)}".rstrip()
        for s in classes
    ]
    return [header, *rows]
