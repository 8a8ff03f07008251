"""Reading client JSON: a key repeated in any object is refused; strings that merely contain
quotes, colons or key-like text are not mistaken for keys."""

from __future__ import annotations

import json

import pytest

from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.json_codec import decode_json


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ('{"model": "o1-pro", "messages": [], "model": "gpt-4o"}', "model"),
        ('{"messages": [{"role": "user", "content": "a", "role": "system"}]}', "role"),
        ('{"a": {"b": {"c": 1, "c" : 2}}}', "c"),
        ('{"\\u006dodel": "x", "model": "y"}', "model"),
    ],
)
def test_a_repeated_key_at_any_depth_is_refused(raw: str, key: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_json(raw.encode())
    assert refused.value.reason == "duplicate_key"
    assert f"'{key}'" in str(refused.value)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 'he said "model": "x"', "model": "y"},
        {"a": "back\\slash\\", "b": ["c:", '"d":', {"e": "\\"}]},
        {"naïve": "é", "emoji": "🙂", "model": "m"},
        {"nested": [[{"k": 1}], [{"k": 2}]], "k": 3},
        {},
    ],
)
def test_bodies_without_repeats_are_read(value: object) -> None:
    for raw in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=2)):
        assert decode_json(raw.encode()) == value
