"""The prompt token estimate: close to a real BPE tokenizer on each kind of text, never below the
framing of the messages, and growing with the text."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.ratelimit.estimate import (
    FEATURES,
    TOKENS_PER_IMAGE,
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REQUEST,
    WEIGHTS,
    estimate_prompt_tokens,
    estimate_text_tokens,
    estimate_transcript_tokens,
)
from plano_extproc.wire.ir import Image, Role, Text, ToolCall, ToolResult, Transcript, Turn
from plano_extproc.wire.parse import parse_request

# Each text with its count under OpenAI's o200k_base (bench/token_estimate.py measures more).
SAMPLES = {
    "english": (
        "Could you summarise the attached design review and list the three open questions it "
        "leaves?",
        17,
    ),
    "code": (
        'def fib(n: int) -> int:\n    """The n-th Fibonacci number."""\n    a, b = 0, 1\n'
        "    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        50,
    ),
    "numbers": ("Invoice 2024-10-17: 3 x 149.99 EUR, total 449.97 EUR, account 0012345678.", 32),
    "chinese": ("请帮我把这段文字翻译成英文\uff0c并解释其中的专业术语。", 19),
    "japanese": ("明日の会議の議題を三つにまとめてください。", 15),
    "russian": ("Пожалуйста, кратко перескажи этот отчёт и перечисли открытые вопросы.", 19),
    "json": (
        '{"city": "Paris", "units": "metric", "days": [1, 2, 3], "include_hourly": false}',
        31,
    ),
}
FRAMING = TOKENS_PER_REQUEST + TOKENS_PER_MESSAGE


def _user(*parts: Text | Image | ToolCall | ToolResult) -> Transcript:
    return Transcript((Turn(Role.USER, parts),))


@pytest.mark.parametrize(("text", "true_tokens"), SAMPLES.values(), ids=SAMPLES.keys())
def test_each_kind_of_text_is_within_30_percent_of_o200k(text: str, true_tokens: int) -> None:
    assert abs(estimate_text_tokens(text) - true_tokens) <= 0.3 * true_tokens


def test_no_text_is_no_token_and_any_text_at_least_one() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens(" ") == 1
    assert estimate_transcript_tokens(Transcript(())) == TOKENS_PER_REQUEST


def test_cjk_costs_most_of_a_token_a_character() -> None:
    text = "今天天气很好我们去公园散步吧" * 10

    assert 0.6 * len(text) <= estimate_text_tokens(text) <= 1.1 * len(text)


def test_a_long_word_costs_more_than_a_short_one() -> None:
    assert estimate_text_tokens(" supercalifragilisticexpialidocious") > estimate_text_tokens(
        " cat"
    )


def test_a_lone_surrogate_is_counted_not_refused() -> None:
    assert estimate_text_tokens("broken \ud800 text") >= 3


def test_non_ascii_text_counts_like_its_ascii_part_and_more() -> None:
    assert estimate_text_tokens("plain words é") > estimate_text_tokens("plain words ")


def test_the_weights_never_lower_the_estimate() -> None:
    assert len(WEIGHTS) == len(FEATURES)
    assert min(WEIGHTS) >= 0


@given(st.text(), st.text())
def test_more_text_never_lowers_the_estimate(text: str, more: str) -> None:
    assert estimate_text_tokens(text + more) >= estimate_text_tokens(text)


@given(st.lists(st.text(max_size=20), max_size=30))
def test_never_below_the_message_count(texts: list[str]) -> None:
    turns = tuple(Turn(Role.USER, (Text(text),)) for text in texts)

    assert estimate_transcript_tokens(Transcript(turns)) >= len(turns)


def test_every_turn_adds_its_framing_and_text() -> None:
    system = Turn(Role.SYSTEM, (Text("You are terse."),))
    user = Turn(Role.USER, (Text("Hi"),))

    estimate = estimate_transcript_tokens(Transcript((system, user)))

    assert estimate == TOKENS_PER_REQUEST + 2 * TOKENS_PER_MESSAGE + estimate_text_tokens(
        "You are terse.\nHi"
    )


def test_tool_calls_count_their_name_and_arguments() -> None:
    arguments = json.dumps({"city": "Paris", "days": 3})
    call = Turn(Role.ASSISTANT, (ToolCall("call_1", "get_weather", arguments),))

    estimate = estimate_transcript_tokens(Transcript((call,)))

    assert estimate == FRAMING + estimate_text_tokens(f"get_weather\n{arguments}")


def test_tool_results_count_their_text_and_images() -> None:
    result = ToolResult("call_1", (Text("18 degrees, light rain"), Image("https://x/y.png")))

    estimate = estimate_transcript_tokens(_user(result))

    assert estimate == FRAMING + TOKENS_PER_IMAGE + estimate_text_tokens("18 degrees, light rain")


def test_longer_arguments_cost_more() -> None:
    short = ToolCall("c", "search", '{"q": "rain"}')
    long = ToolCall("c", "search", json.dumps({"q": "rain " * 200}))

    assert estimate_transcript_tokens(_user(long)) > estimate_transcript_tokens(_user(short)) + 150


def _chat(**fields: object) -> bytes:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "What is the weather?"}]}
    return orjson.dumps({**body, **fields})


def test_a_request_counts_its_declared_tools_but_not_its_output_allowance() -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    plain = estimate_prompt_tokens(parse_request(ClientApi.CHAT, _chat()))

    with_tools = estimate_prompt_tokens(parse_request(ClientApi.CHAT, _chat(tools=[tool])))
    with_allowance = parse_request(ClientApi.CHAT, _chat(max_tokens=100_000))

    assert with_tools == plain + estimate_text_tokens(json.dumps([tool]))
    assert estimate_prompt_tokens(with_allowance) == plain
    assert plain == FRAMING + estimate_text_tokens("What is the weather?")
