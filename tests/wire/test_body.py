from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from plano_extproc.wire import InvalidRequest, needs_rewrite, rewrite_body

ROUTING = {
    "routing_preferences": [{"name": "r", "description": "d", "models": ["m"]}],
    "routing_policy": [{"model": "m", "routing_preferences": []}],
}


def test_sets_model_and_drops_routing_fields_keeping_order() -> None:
    body = {
        "model": "openai/gpt-4o",
        "messages": [{"role": "user", "content": "hi"}],
        **ROUTING,
        "n": 1,
    }

    out = rewrite_body(body, model="gpt-4o")

    assert out == b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"n":1}'
    assert "routing_policy" in body
    assert body["model"] == "openai/gpt-4o"


def test_adds_model_when_absent() -> None:
    assert rewrite_body({"input": "x"}, model="gpt-4o") == b'{"input":"x","model":"gpt-4o"}'


def test_without_model_keeps_the_requested_one() -> None:
    body = {"model": "m", "routing_preferences": []}

    assert rewrite_body(body, model=None) == b'{"model":"m"}'


def test_round_trip_keeps_every_value() -> None:
    raw = (
        '{"model":"a","temperature":0.1,"top_p":1.0,"zero":-0.0,"tiny":5e-324,'
        '"huge":1.7976931348623157e308,'
        '"seed":9223372036854775807,"neg":-9223372036854775808,"u64":18446744073709551615,'
        '"unsafe_js":9007199254740993,'
        '"text":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\n\\t\\u0000 \\u2028 日本",'
        '"nested":{"a":[1,2,{"b":null,"c":true,"d":false}],"e":{}},"empty":[],'
        '"metadata":{"routing_preferences":"nested copies are kept"}}'
    ).encode()
    body = orjson.loads(raw)

    out = rewrite_body(body, model="b")

    decoded = orjson.loads(out)
    assert decoded == {**json.loads(raw), "model": "b"}
    assert decoded["u64"] == 2**64 - 1
    assert isinstance(decoded["u64"], int)
    assert decoded["unsafe_js"] == 2**53 + 1
    assert repr(decoded["temperature"]) == "0.1"
    assert b'"temperature":0.1,' in out
    assert "日本".encode() in out
    assert b"\\u00e9" not in out


def test_nesting_beyond_orjson_writer_limit_falls_back() -> None:
    deep: Any = []
    for _ in range(400):
        deep = [deep]

    out = rewrite_body({"model": "a", "d": deep, "t": "é"}, model="b")

    assert out == b'{"model":"b","d":' + b"[" * 401 + b"]" * 401 + ',"t":"é"}'.encode()
    assert orjson.loads(out)["d"] == deep


def test_nesting_too_deep_to_forward() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]

    with pytest.raises(InvalidRequest) as caught:
        rewrite_body({"d": deep}, model="b")

    error = caught.value
    assert (error.message, error.reason, error.status) == (
        "request body is nested too deeply to forward",
        "body_too_deep",
        400,
    )


@pytest.mark.parametrize(
    ("body", "model", "expected"),
    [
        ({"model": "m"}, None, False),
        ({"model": "m"}, "m", False),
        ({"messages": []}, None, False),
        ({"model": "m"}, "n", True),
        ({"messages": []}, "n", True),
        ({"model": "m", "routing_preferences": None}, None, True),
        ({"model": "m", "routing_policy": []}, "m", True),
    ],
)
def test_needs_rewrite(body: dict[str, Any], model: str | None, expected: bool) -> None:
    assert needs_rewrite(body, model=model) is expected


@pytest.mark.parametrize(
    ("body", "model"),
    [({"model": "m", "x": [1.5, "é"]}, None), ({"model": "m", "x": 0.1}, "m"), ({"x": 1}, None)],
)
def test_when_no_rewrite_is_needed_rewriting_changes_nothing(
    body: dict[str, Any], model: str | None
) -> None:
    assert not needs_rewrite(body, model=model)
    assert orjson.loads(rewrite_body(body, model=model)) == body


def test_integers_beyond_64_bits_are_written_exactly() -> None:
    assert rewrite_body({"seed": 2**70}, model=None) == b'{"seed":1180591620717411303424}'
