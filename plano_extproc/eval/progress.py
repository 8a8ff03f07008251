"""A progress bar redrawn in place with carriage returns; silent unless the stream is a TTY,
so logs and pipes never collect bar frames."""

from __future__ import annotations

from typing import TextIO

_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream if stream.isatty() else None
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        if self._stream is None or total <= 0:
            return
        filled = _WIDTH * done // total
        bar = "#" * filled + "." * (_WIDTH - filled)
        self._stream.write(f"\r[{bar}] {done}/{total}")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Ends the bar's line, so what follows starts on a fresh one."""
        if self._stream is not None and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
