"""How the embedded classifier represents a route set, and how a query scores against it.

A route is the set of its texts: its name (underscores read as spaces), each phrase of its
description (split at commas, semicolons, colons, "or" and "and") and each of its `examples`.
A route scores as its best phrase similarity plus a small share of the mean of its top
phrases, so a query that several phrases of one route agree on beats a single lucky match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import torch

from plano_extproc.config.model import Route

TOP_K = 3
TOP_K_WEIGHT = 0.2
_PHRASE_SEPARATOR = re.compile(r"\s*(?:[,;:]|\bor\b|\band\b)\s*", re.IGNORECASE)


def route_texts(route: Route) -> list[str]:
    """The texts embedded for `route`, without duplicates, in a stable order."""
    phrases = _PHRASE_SEPARATOR.split(route.description)
    texts = (text.strip() for text in (route.name.replace("_", " "), *phrases, *route.examples))
    return list(dict.fromkeys(text for text in texts if text))


@dataclass(frozen=True, slots=True)
class RouteIndex:
    """The embedded texts of one route set: rows `bounds[i]:bounds[i + 1]` belong to route i."""

    names: tuple[str, ...]
    vectors: torch.Tensor
    bounds: tuple[int, ...]

    @classmethod
    def build(
        cls, routes: Sequence[Route], texts: Sequence[Sequence[str]], vectors: torch.Tensor
    ) -> RouteIndex:
        """`texts[i]` are route i's texts (see `route_texts`); `vectors` embeds them in order."""
        bounds = [0]
        for group in texts:
            bounds.append(bounds[-1] + len(group))
        return cls(tuple(route.name for route in routes), vectors, tuple(bounds))

    def scores(self, query: torch.Tensor) -> list[float]:
        """One score per route, in route order, for a unit `query` vector."""
        similarities = self.vectors @ query
        return [_route_score(similarities[start:end]) for start, end in pairwise(self.bounds)]


def _route_score(similarities: torch.Tensor) -> float:
    top = similarities.topk(min(TOP_K, len(similarities))).values
    return float((1 - TOP_K_WEIGHT) * top[0] + TOP_K_WEIGHT * top.mean())
