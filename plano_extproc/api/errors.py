"""Client-facing request errors, rendered as the JSON error body of SPEC §2.1."""

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
