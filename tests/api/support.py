"""Shared helpers for the api tests."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from plano_extproc.api import ClientApi, InvalidRequest, ParsedRequest, parse_body, parse_request


def parse(api: ClientApi, body: dict[str, Any]) -> ParsedRequest:
    """Parse through the raw-bytes entry point, as the server does."""
    return parse_request(api, orjson.dumps(body))


def assert_invalid(
    api: ClientApi, body: object, message: str, reason: str, status: int = 400
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_body(api, body)
    error = caught.value
    assert (error.message, error.reason, error.status) == (message, reason, status)
    assert error.to_json() == {
        "error": {"code": "InvalidRequest", "message": message, "details": {"reason": reason}}
    }
