"""The one interface every route classifier implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from plano_extproc.config.model import Route
from plano_extproc.wire.conversation import Message


class ClassifierError(Exception):
    """The classifier could not produce an answer (backend down, bad reply, ...)."""


class Classifier(Protocol):
    """Picks the route that fits the user's latest intent, or None for "other".

    `routes` is a tuple of frozen Routes, so implementations may cache per-route-set work keyed
    on it. The routing engine applies the deadline; implementations need not.
    """

    async def start(self) -> None:
        """Load models / open connections; called once before serving."""
        ...

    async def classify(
        self, routes: tuple[Route, ...], messages: Sequence[Message]
    ) -> str | None: ...

    async def close(self) -> None: ...
