from __future__ import annotations

import json
from pathlib import Path

import pytest

from plano_extproc.config.model import Route
from plano_extproc.eval import DatasetError, load_cases, load_routes
from plano_extproc.wire import Message, Role
from tests.eval.support import CASES, user, write_dataset, write_json_lines

ROUTES = (Route("code", "writing code", ("m",)), Route("translation", "translating", ("m",)))


def test_routes_get_a_placeholder_model_and_keep_their_examples(tmp_path: Path) -> None:
    routes_path, _ = write_dataset(tmp_path)
    code, translation = load_routes(routes_path)
    assert (code.name, code.description) == ("code", "writing code, functions and scripts")
    assert code.examples == ("Write a Python function",)
    assert code.models == translation.models
    assert translation.name == "translation"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[", "not valid JSON"),
        ("{}", "expected a non-empty JSON list of routes"),
        ("[]", "expected a non-empty JSON list of routes"),
        ('[{"name": "a", "description": "x"}, {"name": "b"}]', "[1].description: required field"),
        ('[{"name": "a", "description": 3}]', "[0].description: expected a string, got number"),
        ('[{"name": "a", "description": "x", "examples": "y"}]', "[0].examples: expected a list"),
        (
            '[{"name": "a", "description": "x"}, {"name": "a", "description": "y"}]',
            '[1].name: duplicate route name "a"',
        ),
        ('[{"name": "other", "description": "x"}]', "[0].name: 'other' is reserved"),
    ],
)
def test_route_problems_name_the_entry(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "routes.json"
    path.write_text(content)
    with pytest.raises(DatasetError) as caught:
        load_routes(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_missing_file_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_routes(tmp_path / "absent.json")


def test_cases_are_parsed_as_chat_messages(tmp_path: Path) -> None:
    _, cases_path = write_dataset(tmp_path)
    cases = load_cases(cases_path, ROUTES)
    assert [case.gold for case in cases] == ["code", "translation", None, "translation", "code"]
    assert [case.line for case in cases] == [1, 2, 3, 4, 5]
    assert cases[3].messages == (
        Message(Role.SYSTEM, "You write Python code."),
        Message(Role.USER, "Translate hello into German"),
        Message(Role.ASSISTANT, "Hallo"),
        Message(Role.USER, "and Spanish?"),
    )


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n" + json.dumps(CASES[0]) + "\n   \n" + json.dumps(CASES[1]) + "\n")
    assert [case.line for case in load_cases(path)] == [2, 4]


def test_without_routes_any_gold_is_accepted(tmp_path: Path) -> None:
    path = write_json_lines(tmp_path / "cases.jsonl", [{"messages": [user("hi")], "gold": "x"}])
    assert load_cases(path)[0].gold == "x"


GOOD = json.dumps(CASES[0])


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{", "not valid JSON"),
        ("[1]", "expected a JSON object, got array"),
        ('{"gold": "code"}', "missing field messages"),
        ('{"messages": [{"role": "user", "content": "x"}]}', "missing field gold"),
        (
            '{"messages": [{"role": "user", "content": "x"}], "gold": "code", "note": "?"}',
            "unknown field note",
        ),
        ('{"messages": [], "gold": "code"}', "messages: must contain at least one message"),
        ('{"messages": [{"role": "robot", "content": "x"}], "gold": "code"}', "messages[0].role"),
        ('{"messages": [{"role": "user"}], "gold": "code"}', "messages[0].content: required"),
        ('{"messages": [{"role": "user", "content": "x"}], "gold": 3}', "gold: expected a route"),
        ('{"messages": [{"role": "user", "content": "x"}], "gold": ""}', "gold: expected a route"),
        (
            '{"messages": [{"role": "user", "content": "x"}], "gold": "poetry"}',
            "gold: 'poetry' is neither a route in the routes file nor 'other'",
        ),
    ],
)
def test_case_problems_name_the_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(f"{GOOD}\n{line}\n{GOOD}\n")
    with pytest.raises(DatasetError) as caught:
        load_cases(path, ROUTES)
    assert str(caught.value).startswith(f"{path}:2: ")
    assert problem in str(caught.value)


def test_an_empty_cases_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DatasetError, match="no cases"):
        load_cases(path)
