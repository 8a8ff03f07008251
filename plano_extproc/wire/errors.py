"""What goes wrong on each side of the gateway: client requests it refuses (rendered as the
JSON error body of SPEC §2.1), and upstream bodies it cannot read."""

from __future__ import annotations

from typing import Any


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


class TranslationError(Exception):
    """An upstream body that cannot be read, so cannot be translated (a bad gateway)."""
