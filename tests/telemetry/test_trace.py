import re

import pytest

from plano_extproc.telemetry.trace import (
    TraceParent,
    new_trace_id,
    parse_traceparent,
    request_trace_parent,
)

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_valid_traceparent_gives_trace_span_and_sampled_flag() -> None:
    assert request_trace_parent({"traceparent": VALID}) == TraceParent(
        "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", sampled=True
    )
    unsampled = parse_traceparent(VALID[:-2] + "00")
    assert unsampled is not None
    assert unsampled.sampled is False


def test_uppercase_traceparent_is_normalised() -> None:
    parent = parse_traceparent(VALID.upper())
    assert parent is not None
    assert parent.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
    ],
)
def test_invalid_traceparent_is_ignored(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_no_traceparent_header_means_no_parent() -> None:
    assert request_trace_parent({}) is None


def test_new_trace_id_is_32_lowercase_hex_and_unique() -> None:
    first, second = new_trace_id(), new_trace_id()
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second
