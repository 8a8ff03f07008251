from __future__ import annotations

import io

from plano_extproc.eval.progress import ProgressBar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_redraws_in_place_on_a_terminal() -> None:
    stream = FakeTerminal()
    bar = ProgressBar(stream)
    bar.update(1, 3)
    bar.update(3, 3)
    bar.close()
    first, last = stream.getvalue().removesuffix("\n").split("\r")[1:]
    assert first == "[" + "#" * 10 + "." * 20 + "] 1/3"
    assert last == "[" + "#" * 30 + "] 3/3"
    assert stream.getvalue().endswith("\n")


def test_silent_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update(1, 2)
    bar.close()
    assert stream.getvalue() == ""


def test_close_without_updates_writes_nothing() -> None:
    stream = FakeTerminal()
    ProgressBar(stream).close()
    assert stream.getvalue() == ""
