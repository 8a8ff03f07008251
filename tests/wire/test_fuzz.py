"""Property tests: whatever JSON arrives, parsing either succeeds or raises InvalidRequest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plano_extproc.contract.client_api import ClientApi
from plano_extproc.wire import (
    InvalidRequest,
    ParsedRequest,
    needs_rewrite,
    parse_body,
    parse_request,
    reasons,
    rewrite_body,
)

KNOWN_REASONS = {
    value for name, value in vars(reasons).items() if name.isupper() and isinstance(value, str)
}

# Keys and values the parsers look for, so generated bodies reach deep into each of them.
_KEYS = st.sampled_from(
    [
        "messages",
        "role",
        "content",
        "type",
        "text",
        "tool_calls",
        "tool_call_id",
        "id",
        "function",
        "name",
        "arguments",
        "custom",
        "input",
        "max_tokens",
        "system",
        "tool_use_id",
        "instructions",
        "call_id",
        "output",
        "model",
        "stream",
        "routing_preferences",
        "routing_policy",
        "description",
        "models",
        "selection_policy",
        "prefer",
        "examples",
    ]
) | st.text(max_size=5)
_STRINGS = st.sampled_from(
    [
        "user",
        "assistant",
        "system",
        "developer",
        "tool",
        "function",
        "text",
        "image_url",
        "tool_use",
        "tool_result",
        "message",
        "function_call",
        "function_call_output",
        "input_text",
        "output_text",
        "custom",
        "fastest",
        "cheapest",
        "random",
        "none",
        "",
    ]
) | st.text(max_size=10)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _STRINGS
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` nine times in ten, any JSON value otherwise: near-misses reach every check."""
    return st.integers(0, 9).flatmap(lambda n: valid if n else JSON_VALUES)


_TEXT = _mostly(_STRINGS)
_PART = st.fixed_dictionaries(
    {"type": _mostly(st.sampled_from(["text", "input_text", "output_text", "image_url", "image"]))},
    optional={"text": _TEXT},
)
_CONTENT = _mostly(_STRINGS | st.lists(_PART, max_size=3))
_BLOCK = (
    _PART
    | st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": _TEXT, "name": _TEXT},
        optional={"input": _mostly(st.dictionaries(_KEYS, JSON_VALUES, max_size=3))},
    )
    | st.fixed_dictionaries(
        {"type": st.just("tool_result"), "tool_use_id": _TEXT}, optional={"content": _CONTENT}
    )
)
_TOOL_CALL = st.fixed_dictionaries(
    {"id": _TEXT, "function": _mostly(st.fixed_dictionaries({"name": _TEXT, "arguments": _TEXT}))},
    optional={"type": _mostly(st.sampled_from(["function", "custom", "other"]))},
)
_MESSAGE = st.fixed_dictionaries(
    {
        "role": _mostly(st.sampled_from(["system", "developer", "user", "assistant", "tool"])),
        "content": _CONTENT | _mostly(st.lists(_BLOCK, max_size=3)),
    },
    optional={"tool_calls": _mostly(st.lists(_TOOL_CALL, max_size=2)), "tool_call_id": _TEXT},
)
_ITEM = _MESSAGE | st.fixed_dictionaries(
    {
        "type": _mostly(st.sampled_from(["function_call", "function_call_output", "reasoning"])),
        "call_id": _TEXT,
    },
    optional={"name": _TEXT, "arguments": _TEXT, "output": _CONTENT},
)
_ROUTE = st.fixed_dictionaries(
    {
        "name": _TEXT,
        "description": _TEXT,
        "models": _mostly(st.lists(_TEXT, min_size=1, max_size=3)),
    },
    optional={
        "selection_policy": _mostly(
            st.fixed_dictionaries({"prefer": _mostly(st.sampled_from(["cheapest", "fastest"]))})
        ),
        "examples": _mostly(st.lists(_TEXT, max_size=2)),
    },
)
_MODEL_POLICY = st.fixed_dictionaries(
    {
        "model": _TEXT,
        "routing_preferences": _mostly(
            st.lists(st.fixed_dictionaries({"name": _TEXT, "description": _TEXT}), max_size=3)
        ),
    }
)
_API_SHAPED_BODIES = st.fixed_dictionaries(
    {
        "messages": _mostly(st.lists(_MESSAGE, min_size=1, max_size=4)),
        "input": _mostly(_STRINGS | st.lists(_ITEM, min_size=1, max_size=4)),
        "max_tokens": _mostly(st.integers(min_value=1, max_value=4096)),
    },
    optional={
        "system": _CONTENT,
        "instructions": _TEXT,
        "model": _TEXT,
        "stream": _mostly(st.booleans()),
        "routing_preferences": _mostly(st.lists(_ROUTE, max_size=3)),
        "routing_policy": _mostly(st.lists(_MODEL_POLICY, max_size=2)),
    },
)
BODIES = JSON_VALUES | _API_SHAPED_BODIES


def _outcome(parse: Callable[[], ParsedRequest]) -> ParsedRequest | InvalidRequest:
    """The parse result, or the InvalidRequest it raised; any other exception propagates."""
    try:
        return parse()
    except InvalidRequest as error:
        return error


def _assert_well_formed_refusal(error: InvalidRequest) -> None:
    assert error.reason in KNOWN_REASONS
    assert error.status == 400
    assert error.message


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(api=st.sampled_from(list(ClientApi)), body=BODIES)
def test_parse_body_only_raises_invalid_request(api: ClientApi, body: Any) -> None:
    outcome = _outcome(lambda: parse_body(api, body))

    if isinstance(outcome, InvalidRequest):
        _assert_well_formed_refusal(outcome)
    else:
        assert outcome.body is body
        assert all(isinstance(message.text, str) for message in outcome.messages)


@settings(max_examples=200)
@given(api=st.sampled_from(list(ClientApi)), raw=st.binary(max_size=64))
def test_parse_request_only_raises_invalid_request_on_arbitrary_bytes(
    api: ClientApi, raw: bytes
) -> None:
    outcome = _outcome(lambda: parse_request(api, raw))

    if isinstance(outcome, InvalidRequest):
        _assert_well_formed_refusal(outcome)


@settings(max_examples=100)
@given(body=st.dictionaries(_KEYS, JSON_VALUES, max_size=8), model=st.none() | _STRINGS)
def test_rewrite_round_trips_every_kept_field(body: dict[str, Any], model: str | None) -> None:
    decoded = orjson.loads(rewrite_body(body, model=model))

    expected = {k: v for k, v in body.items() if k not in ("routing_preferences", "routing_policy")}
    if model is not None:
        expected["model"] = model
    assert decoded == expected
    assert needs_rewrite(body, model=model) is (decoded != body)
