"""What goes wrong on each side of the gateway: client requests it refuses (rendered as the
JSON error body of SPEC §2.1), and upstream bodies it cannot read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class InvalidRequest(Exception):
    """A request the gateway refuses. `status` is the HTTP status (400, 413, ...)."""

    def __init__(
        self, message: str, *, reason: str, status: int = 400, code: str = "InvalidRequest"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status
        self.code = code

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": {"reason": self.reason},
            }
        }


# The `reason` of a client request that uses a feature the upstream API cannot express.
UNTRANSLATABLE = "untranslatable"


def untranslatable(path: str, problem: str) -> InvalidRequest:
    """A 400 for a request field the chosen upstream API has no equivalent for."""
    return InvalidRequest(f"{path}: {problem}", reason=UNTRANSLATABLE)


class TranslationProblems:
    """What a translation of a request would refuse, noted while the request is read: routing
    reads the request whole whatever another API could express, so only the first problem, in
    reading order, is kept, for a translation to raise."""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: InvalidRequest | None = None

    def note(self, path: str, problem: str) -> None:
        """Something at `path` that the upstream API has no equivalent for."""
        if self.first is None:
            self.first = untranslatable(path, problem)

    def read(
        self, reader: Callable[[dict[str, Any], str], T], value: dict[str, Any], path: str
    ) -> T | None:
        """What `reader`, which reads a field only a translation needs, makes of `value`; None
        when it refuses it, its error noted."""
        try:
            return reader(value, path)
        except InvalidRequest as error:
            if self.first is None:
                self.first = error
            return None


class TranslationError(Exception):
    """An upstream body that cannot be read, so cannot be translated (a bad gateway)."""
