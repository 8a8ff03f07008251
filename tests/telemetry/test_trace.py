import re

import pytest

from plano_extproc.telemetry.trace import new_trace_id, trace_id_for, trace_id_from_traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_trace_id_taken_from_valid_traceparent() -> None:
    assert trace_id_for({"traceparent": VALID}) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_uppercase_traceparent_is_normalised() -> None:
    assert trace_id_from_traceparent(VALID.upper()) == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ],
)
def test_invalid_traceparent_is_ignored(value: str | None) -> None:
    assert trace_id_from_traceparent(value) is None


def test_new_trace_id_is_32_lowercase_hex_and_unique() -> None:
    first, second = new_trace_id(), trace_id_for({})
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second
