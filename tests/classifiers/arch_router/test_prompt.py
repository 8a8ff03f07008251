"""The Arch-Router prompt contract: golden prompts, budget edges and answer parsing.

Golden cases live in ``golden/``: ``NAME.json`` holds the input (routes, optional
``inline_routes`` that replace them, and OpenAI-style messages whose ``content`` may be a list
of parts), ``NAME.txt`` the exact prompt bytes. After a deliberate change to the prompt,
rewrite the ``.txt`` files with ``python -m tests.classifiers.arch_router.test_prompt`` and
review the diff.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from plano_extproc.classifiers.arch_router import prompt
from plano_extproc.classifiers.arch_router.prompt import (
    ROUTER_PROMPT_TEMPLATE,
    ROUTER_TOKEN_BUDGET,
    RouterAnswerError,
    build_router_prompt,
    estimate_tokens,
    parse_router_answer,
    resolve_route_name,
    router_conversation,
)
from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.config.model import Route
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role, ToolCall

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_CASES = sorted(path.stem for path in GOLDEN_DIR.glob("*.json"))
TEMPLATE_SHA256 = "8004153a5e58066139d261d56392543ef29c63487ad4872aaba4d29929890dde"
TEMPLATE_TOKENS = 214  # 856 template bytes // 4

CODE = Route("code_generation", "writing code", ("openai/gpt-4o",))
IMAGE = Route("image_generation", "generating images", ("openai/gpt-4o",))


def user(text: str) -> Message:
    return Message(Role.USER, text)


def assistant(text: str) -> Message:
    return Message(Role.ASSISTANT, text)


def of_tokens(tokens: int, char: str = "a") -> str:
    """A text whose token estimate is exactly `tokens` (for a one-byte `char`)."""
    return char * (tokens * 4)


def _text_of(content: str | list[dict[str, Any]]) -> str:
    """What the API layer stores in Message.text: text parts joined by a newline."""
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part["type"] == "text")


def _message_of(raw: dict[str, Any]) -> Message:
    calls = tuple(ToolCall(**call) for call in raw.get("tool_calls", ()))
    text = _text_of(raw.get("content", "")) * raw.get("repeat", 1)
    return Message(Role(raw["role"]), text, calls, raw.get("tool_call_id"))


def _route_of(raw: dict[str, Any]) -> Route:
    return Route(raw["name"], raw["description"], tuple(raw.get("models", ())))


def load_case(name: str) -> tuple[tuple[Route, ...], list[Message]]:
    case = json.loads((GOLDEN_DIR / f"{name}.json").read_text(encoding="utf-8"))
    routes = case.get("inline_routes", case["routes"])
    return tuple(map(_route_of, routes)), [_message_of(raw) for raw in case["messages"]]


def render_case(name: str) -> bytes:
    return build_router_prompt(*load_case(name)).encode()


# --- golden prompts -------------------------------------------------------------------------


def test_golden_cases_present() -> None:
    assert len(GOLDEN_CASES) >= 8
    for name in GOLDEN_CASES:
        assert (GOLDEN_DIR / f"{name}.txt").is_file(), name


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_prompt(name: str) -> None:
    assert render_case(name) == (GOLDEN_DIR / f"{name}.txt").read_bytes()


# --- template -------------------------------------------------------------------------------


def test_template_is_verbatim() -> None:
    assert hashlib.sha256(ROUTER_PROMPT_TEMPLATE.encode()).hexdigest() == TEMPLATE_SHA256
    assert ROUTER_PROMPT_TEMPLATE.startswith("\nYou are a helpful assistant")
    assert ROUTER_PROMPT_TEMPLATE.endswith('{"route": "route_name"}\n')
    assert "XML tags.  Follow the instruction:" in ROUTER_PROMPT_TEMPLATE
    assert ROUTER_PROMPT_TEMPLATE.count("{routes}") == 1
    assert ROUTER_PROMPT_TEMPLATE.count("{conversation}") == 1


def test_prompt_fills_both_placeholders() -> None:
    built = build_router_prompt([CODE], [user("hi")])
    expected = ROUTER_PROMPT_TEMPLATE.replace(
        "{routes}", '[{"name":"code_generation","description":"writing code"}]'
    ).replace("{conversation}", '[{"role":"user","content":"hi"}]')
    assert built == expected


def test_placeholder_text_inside_routes_is_not_substituted() -> None:
    sneaky = Route("sneaky", "ignore {conversation} and {routes}", ())
    built = build_router_prompt([sneaky], [user("hi")])
    assert '"description":"ignore {conversation} and {routes}"' in built
    assert built.count('[{"role":"user","content":"hi"}]') == 1


def test_no_messages_gives_an_empty_conversation() -> None:
    assert "<conversation>\n[]\n</conversation>" in build_router_prompt([CODE], [])


def test_routes_json_is_built_once_per_route_set() -> None:
    routes = (CODE, IMAGE)
    build_router_prompt(routes, [user("first")])
    hits = prompt._prompt_head.cache_info().hits
    build_router_prompt(list(routes), [user("second")])
    assert prompt._prompt_head.cache_info().hits == hits + 1


# --- conversation filtering -----------------------------------------------------------------


def test_conversation_keeps_only_user_and_assistant_text() -> None:
    messages = [
        Message(Role.SYSTEM, "be nice"),
        Message(Role.DEVELOPER, "be terse"),
        user("weather in Paris?"),
        Message(Role.ASSISTANT, "", (ToolCall("c1", "weather", '{"city":"Paris"}'),)),
        Message(Role.TOOL, '{"temp": 21}', tool_call_id="c1"),
        assistant("21 degrees"),
        user(""),
        user("thanks"),
    ]
    assert router_conversation(messages) == [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": "21 degrees"},
        {"role": "user", "content": "thanks"},
    ]


def test_conversation_of_only_dropped_messages_is_empty() -> None:
    assert router_conversation([Message(Role.SYSTEM, "s"), assistant("")]) == []


# --- budget ---------------------------------------------------------------------------------


def test_estimate_counts_utf8_bytes() -> None:
    assert estimate_tokens("abcdefg") == 1
    assert estimate_tokens("あ" * 4) == 3  # 12 bytes
    assert estimate_tokens("😀") == 1  # 4 bytes
    assert estimate_tokens("\ud800x") == 1  # a lone surrogate counts, does not raise


def test_message_reaching_the_budget_exactly_is_kept() -> None:
    room = ROUTER_TOKEN_BUDGET - TEMPLATE_TOKENS
    messages = [assistant("older reply"), assistant(of_tokens(room - 1)), user(of_tokens(1))]
    contents = [turn["content"] for turn in router_conversation(messages)]
    assert contents == [messages[1].text, messages[2].text]


def test_assistant_one_token_over_the_budget_is_dropped() -> None:
    room = ROUTER_TOKEN_BUDGET - TEMPLATE_TOKENS
    messages = [user("older"), assistant(of_tokens(room)), user(of_tokens(1))]
    assert [turn["content"] for turn in router_conversation(messages)] == [messages[2].text]


def test_budget_counts_bytes_not_characters() -> None:
    room = ROUTER_TOKEN_BUDGET - TEMPLATE_TOKENS
    # Counted as characters this would cost room / 2 tokens; as UTF-8 bytes it is 1.5 * room.
    japanese = assistant("語" * (room * 2))
    assert router_conversation([user("a"), japanese, user("b")]) == [
        {"role": "user", "content": "b"}
    ]


def test_without_any_user_message_the_newest_message_is_kept() -> None:
    huge = assistant(of_tokens(ROUTER_TOKEN_BUDGET))
    assert router_conversation([assistant("older"), huge]) == [
        {"role": "assistant", "content": huge.text}
    ]


def test_trailing_assistant_within_budget_stays_after_the_forced_user() -> None:
    room = ROUTER_TOKEN_BUDGET - TEMPLATE_TOKENS
    messages = [user("q"), assistant(of_tokens(room)), assistant("short")]
    assert router_conversation(messages) == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "short"},
    ]


# --- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"route": "code_generation"}', "code_generation"),
        ('{"route": ""}', None),
        ('{"route": null}', None),
        ("null", None),
        ("{}", None),
        ("", None),
        ("   \n", None),
        ('{"route": "other"}', None),
        ("{'route': 'code_generation'}\\n", "code_generation"),
        ('```json\n{"route": "code_generation"}\n```', "code_generation"),
        ('```\n{"route": "code_generation"}\n```\n', "code_generation"),
        ('  {"route": "code_generation"}  ', "code_generation"),
        ('{"route": "unknown_route"}', "unknown_route"),
    ],
)
def test_parse_router_answer(answer: str, expected: str | None) -> None:
    assert parse_router_answer(answer) == expected


@pytest.mark.parametrize(
    "answer",
    [
        '{"route": "code_generation"',
        "code_generation",
        '["code_generation"]',
        '{"route": 3}',
    ],
)
def test_unreadable_answer_raises(answer: str) -> None:
    with pytest.raises(RouterAnswerError):
        parse_router_answer(answer)


def test_answer_error_is_a_classifier_error() -> None:
    with pytest.raises(ClassifierError, match="not valid JSON"):
        parse_router_answer('{"route": "x"')


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("code_generation", "code_generation"), ("unknown_route", None), (None, None)],
)
def test_resolve_route_name(answer: str | None, expected: str | None) -> None:
    assert resolve_route_name(answer, (CODE, IMAGE)) == expected


def regenerate_golden_files() -> None:
    for name in GOLDEN_CASES:
        (GOLDEN_DIR / f"{name}.txt").write_bytes(render_case(name))
        print(f"wrote {name}.txt")


if __name__ == "__main__":
    regenerate_golden_files()
