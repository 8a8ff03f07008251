"""What goes wrong while translating, on each side of the gateway."""

from __future__ import annotations

from plano_extproc.api.errors import InvalidRequest

# The `reason` of a client request that uses a feature the upstream API cannot express.
UNTRANSLATABLE = "untranslatable"


class TranslationError(Exception):
    """An upstream body that cannot be read, so cannot be translated (a bad gateway)."""


def untranslatable(path: str, problem: str) -> InvalidRequest:
    """A 400 for a request field the chosen upstream API has no equivalent for."""
    return InvalidRequest(f"{path}: {problem}", reason=UNTRANSLATABLE)
