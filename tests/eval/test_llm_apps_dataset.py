"""The shipped eval/llm_apps set loads and keeps the composition its README describes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from plano_extproc.eval import load_cases, load_routes
from plano_extproc.wire import Role

LLM_APPS = Path(__file__).resolve().parents[2] / "eval" / "llm_apps"


def test_composition() -> None:
    routes = load_routes(LLM_APPS / "routes.json")
    cases = load_cases(LLM_APPS / "cases.jsonl", routes)
    golds = Counter(case.gold for case in cases)
    user_turns = [sum(m.role is Role.USER for m in case.messages) for case in cases]
    assert len(cases) >= 150
    assert golds[None] >= 25
    assert all(golds[route.name] >= 10 for route in routes)
    assert sum(turns > 1 for turns in user_turns) >= 30
    assert any(m.role is Role.TOOL for case in cases for m in case.messages)
    assert any(m.role is Role.SYSTEM for case in cases for m in case.messages)
