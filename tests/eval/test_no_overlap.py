"""Honest numbers: no text the product ships or is tuned with appears in an evaluation set.

Reported results come from `eval/llm_apps/cases.jsonl` and `eval/clinc150/cases_val.jsonl`.
Neither may share text with what the classifier carries (background corpus, "other" phrases),
with the route descriptions it is evaluated against, or with the tuning sets. A shared text is
an exact match of a whole line or message, or a text of four words or more found inside the
other one (after lowercasing and collapsing whitespace and punctuation)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from plano_extproc.classifiers.route_index import _PHRASE_SEPARATOR

ROOT = Path(__file__).resolve().parents[2]
EVAL_CASES = (ROOT / "eval/llm_apps/cases.jsonl", ROOT / "eval/clinc150/cases_val.jsonl")
# CLINC150's own training split is not checked: it shares phrasing with its validation split
# by construction (the same intents, written by the same crowd), which no choice of ours adds.
TUNING_CASES = (ROOT / "eval/tuning/llm_apps/cases.jsonl",)
ROUTE_FILES = (
    ROOT / "eval/llm_apps/routes.json",
    ROOT / "eval/llm_apps/routes_with_examples.json",
    ROOT / "eval/clinc150/routes.json",
    ROOT / "eval/tuning/llm_apps/routes.json",
)
MIN_CONTAINED_WORDS = 4
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _normal(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def _messages(path: Path) -> list[str]:
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for message in json.loads(line)["messages"]:
                content = message.get("content")
                if isinstance(content, str) and content.strip():
                    texts.append(_normal(content))
    return texts


def _packaged_lines(name: str) -> list[str]:
    text = resources.files("plano_extproc.classifiers").joinpath(name).read_text("utf-8")
    return [_normal(line) for line in text.splitlines() if line.strip()]


def _route_texts(path: Path) -> list[str]:
    texts = []
    for route in json.loads(path.read_text(encoding="utf-8")):
        texts.extend(_PHRASE_SEPARATOR.split(route["description"]))
        texts.extend(route.get("examples", []))
    return [_normal(text) for text in texts if text.strip()]


@pytest.fixture(scope="module")
def evaluated() -> list[str]:
    return [text for path in EVAL_CASES for text in _messages(path)]


def _shared(ours: list[str], evaluated: list[str]) -> list[tuple[str, str]]:
    whole = set(evaluated)
    # Padded with spaces so that containment is checked on whole words.
    padded = [f" {text} " for text in evaluated]
    hits = []
    for text in set(ours):
        if not text:
            continue
        if text in whole:
            hits.append((text, text))
            continue
        if len(text.split()) >= MIN_CONTAINED_WORDS:
            hits.extend((text, other.strip()) for other in padded if f" {text} " in other)
        for other in evaluated:
            if len(other.split()) >= MIN_CONTAINED_WORDS and f" {other} " in f" {text} ":
                hits.append((text, other))
    return hits


@pytest.mark.parametrize("name", ["background.txt", "conversation.txt"])
def test_packaged_texts_share_nothing_with_eval_sets(name: str, evaluated: list[str]) -> None:
    assert _shared(_packaged_lines(name), evaluated) == []


@pytest.mark.parametrize("path", ROUTE_FILES, ids=lambda path: path.parent.name + "/" + path.name)
def test_route_texts_share_nothing_with_eval_sets(path: Path, evaluated: list[str]) -> None:
    assert _shared(_route_texts(path), evaluated) == []


def test_config_example_routes_share_nothing_with_eval_sets(evaluated: list[str]) -> None:
    from plano_extproc.config import load_config

    config = load_config(ROOT / "config.example.yaml", require_keys=False)
    texts = [
        _normal(text)
        for route in config.routes
        for text in [*_PHRASE_SEPARATOR.split(route.description), *route.examples]
    ]
    assert _shared(texts, evaluated) == []


@pytest.mark.parametrize("path", TUNING_CASES, ids=lambda path: path.parent.name + "/" + path.name)
def test_tuning_sets_share_nothing_with_eval_sets(path: Path, evaluated: list[str]) -> None:
    assert _shared(_messages(path), evaluated) == []


def test_the_check_finds_a_planted_overlap(evaluated: list[str]) -> None:
    planted = evaluated[0]
    assert _shared([planted], evaluated)
    assert _shared([f"please {planted} now"], evaluated) or len(planted.split()) < 4
