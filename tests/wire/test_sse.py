from __future__ import annotations

import pytest

from plano_extproc.wire.errors import TranslationError
from plano_extproc.wire.sse import SseEvent, SseParser, sse_frame


def parse(*chunks: bytes) -> list[SseEvent]:
    parser = SseParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_frames_events(line_end: bytes) -> None:
    raw = line_end.join([b"event: a", b"data: 1", b"", b"data: 2", b"", b""])

    assert parse(raw) == [SseEvent("a", "1"), SseEvent("", "2")]


def test_crlf_split_between_chunks_is_one_line_end() -> None:
    assert parse(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n") == [
        SseEvent("", "1"),
        SseEvent("", "2"),
    ]


def test_a_cr_followed_by_other_text_is_a_line_end_of_its_own() -> None:
    assert parse(b"data: 1\r", b"\rdata: 2\r", b"\r") == [SseEvent("", "1"), SseEvent("", "2")]


def test_an_empty_chunk_keeps_a_pending_crlf() -> None:
    assert parse(b"data: 1\r", b"", b"\n\r\n") == [SseEvent("", "1")]


def test_multi_line_data_is_joined_by_newlines() -> None:
    assert parse(b"data: a\ndata:b\ndata\n\n") == [SseEvent("", "a\nb\n")]


def test_comments_unknown_fields_and_empty_events_are_ignored() -> None:
    raw = b": keep-alive\nid: 7\nretry: 10\nbogus line\n\nevent: x\n\n\ndata: 1\n\n"

    assert parse(raw) == [SseEvent("", "1")]


def test_event_name_does_not_leak_into_the_next_event() -> None:
    assert parse(b"event: x\ndata: 1\n\ndata: 2\n\n") == [SseEvent("x", "1"), SseEvent("", "2")]


def test_multibyte_utf8_split_across_chunks_arrives_whole() -> None:
    raw = "data: héllo ✓\n\n".encode()

    assert parse(*[raw[i : i + 1] for i in range(len(raw))]) == [SseEvent("", "héllo ✓")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert parse(b"data: \xff\xfe\n\n") == [SseEvent("", "\ufffd\ufffd")]


def test_leading_bom_is_dropped() -> None:
    assert parse("\ufeffdata: 1\n\n".encode()) == [SseEvent("", "1")]


def test_close_dispatches_an_unterminated_last_event() -> None:
    assert parse(b"data: 1\n\ndata: 2") == [SseEvent("", "1"), SseEvent("", "2")]
    assert parse(b"data: 3\n") == [SseEvent("", "3")]
    assert parse(b"") == []


def test_frame() -> None:
    assert sse_frame(b"{}") == b"data: {}\n\n"
    assert sse_frame(b"{}", "ping") == b"event: ping\ndata: {}\n\n"


def test_an_event_over_the_bound_is_refused_not_buffered() -> None:
    parser = SseParser(max_event_bytes=100)
    assert parser.feed(b"data: " + b"a" * 50 + b"\n\n")  # a whole event, then the count resets
    with pytest.raises(TranslationError, match="larger than 100 bytes"):
        parser.feed(b"data: " + b"b" * 200)


def test_many_data_lines_count_together() -> None:
    parser = SseParser(max_event_bytes=100)
    parser.feed(b"data: " + b"a" * 40 + b"\n")
    with pytest.raises(TranslationError):
        parser.feed(b"data: " + b"b" * 40 + b"\ndata: " + b"c" * 40 + b"\n")
