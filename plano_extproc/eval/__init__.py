"""Offline evaluation of route classifiers on labelled conversations (`plano-extproc eval`)."""

from plano_extproc.eval.dataset import OTHER, DatasetError, EvalCase, load_cases, load_routes
from plano_extproc.eval.metrics import ClassSummary, EvalReport, Outcome
from plano_extproc.eval.runner import evaluate

__all__ = [
    "OTHER",
    "ClassSummary",
    "DatasetError",
    "EvalCase",
    "EvalReport",
    "Outcome",
    "evaluate",
    "load_cases",
    "load_routes",
]
