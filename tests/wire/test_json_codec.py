"""Reading client JSON: a key repeated in any object is refused; strings that merely contain
quotes, colons (plain or escaped) or key-like text are not mistaken for keys."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plano_extproc.wire.errors import InvalidRequest
from plano_extproc.wire.json_codec import _keys_in_text, _keys_kept, _repeats_a_key, decode_json


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


@pytest.mark.parametrize(
    ("raw", "repeated"),
    [
        ('{"a": "x\\u003ay", "a": 1}', True),
        ('{"a": "x\\u003Ay", "b": {"c": ":", "c": 2}}', True),
        ('{"a": "\\u003a", "b": "c:d"}', False),
        ('{"k": {"d": "::"}, "k": 1}', True),
    ],
)
def test_colons_written_as_escapes_do_not_hide_or_invent_a_repeat(raw: str, repeated: bool) -> None:
    assert _repeats_a_key(raw.encode(), orjson.loads(raw)) is repeated


def _literal(text: str, escape_colons: bool) -> str:
    quoted = json.dumps(text)
    return quoted.replace(":", "\\u003a") if escape_colons else quoted


_STRINGS = st.builds(
    _literal, st.text(st.sampled_from(["a", ":", '"', "\\", "é", " "]), max_size=4), st.booleans()
)
_KEYS = st.builds(_literal, st.sampled_from(["a", "b", "c:d"]), st.booleans())
_JSON_TEXT = st.recursive(
    _STRINGS | st.sampled_from(["1", "null", "2.5", "[]", "{}"]),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: f"[{','.join(items)}]")
        | st.lists(st.tuples(_KEYS, inner), max_size=4).map(
            lambda pairs: "{" + ",".join(f"{key} : {item}" for key, item in pairs) + "}"
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(text=_JSON_TEXT)
def test_repeats_are_found_as_the_keys_in_the_text_count_them(text: str) -> None:
    raw = text.encode()
    value = orjson.loads(raw)

    assert _repeats_a_key(raw, value) is (_keys_in_text(raw) != _keys_kept(value))
