"""Body surgery for the proxy path: set the upstream model, drop the routing-only fields.

Re-serializing costs time, so callers first ask `needs_rewrite` and forward the original bytes
untouched when it says no.
"""

from __future__ import annotations

from typing import Any

from plano_extproc.wire.json_codec import encode_json

ROUTING_FIELDS = frozenset({"routing_preferences", "routing_policy"})


def needs_rewrite(body: dict[str, Any], *, model: str | None) -> bool:
    """Whether `rewrite_body` would change the meaning of `body`."""
    if model is not None and body.get("model") != model:
        return True
    return not ROUTING_FIELDS.isdisjoint(body)


def rewrite_body(body: dict[str, Any], *, model: str | None) -> bytes:
    """Compact JSON of `body` with `model` set (when given) and the routing fields removed.

    `body` itself is left as it was; every other field keeps its value and its position.
    """
    out = {key: value for key, value in body.items() if key not in ROUTING_FIELDS}
    if model is not None:
        out["model"] = model
    return encode_json(out)
