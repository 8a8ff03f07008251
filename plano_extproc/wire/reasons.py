"""Stable machine-readable `reason` values carried by InvalidRequest (SPEC §2.1)."""

from __future__ import annotations

MALFORMED_JSON = "malformed_json"
BODY_NOT_OBJECT = "body_not_object"
BODY_TOO_LARGE = "body_too_large"
BODY_TOO_DEEP = "body_too_deep"
DUPLICATE_KEY = "duplicate_key"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
INVALID_VALUE = "invalid_value"
INVALID_ROUTING_PREFERENCES = "invalid_routing_preferences"
