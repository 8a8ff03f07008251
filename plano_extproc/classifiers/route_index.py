"""How the embedded classifier represents a route set, calibrates it, and decides.

A route is the set of its texts: its name (underscores read as spaces), each phrase of its
description (split at commas, semicolons, colons, "or" and "and") and each of its `examples`.
A route scores as its best phrase similarity plus a share of the mean of its top phrases, so
a query that several phrases of one route agree on beats a single lucky match.

Raw similarities are not comparable across routes: a route described in broad words ("simple
questions and conversation") is close to almost anything, a narrow one to little. So each route
set is calibrated when it is indexed: every route is scored against a generic background corpus
(`background.txt`, a spread of everyday requests), and a query's score for the route becomes a
z-score, its distance above that route's background mean in background standard deviations.
The same is done for keyword evidence (BM25, see `keyword_index`), which adds a capped share.
The best route must stand out from its own background by `min_z`: no threshold has to be set
per configuration, and inline route sets are calibrated the same way.

"other" has a face of its own too: conversational intents that no route is about (greetings,
thanks, questions about the assistant itself; `conversation.txt`), calibrated against the same
background. When the latest turn stands out more as one of those than as the best route (by
`other_margin`), the answer is "other"; a route that is about conversation keeps such turns,
since it stands out on them as well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from plano_extproc.classifiers.keyword_index import KeywordIndex
from plano_extproc.config.model import Route

TOP_K = 3
TOP_K_WEIGHT = 0.4
# How much the keyword (BM25) z-score adds to the semantic one, and its cap: most background
# sentences share no word with a route, so one shared rare word can be many deviations out.
KEYWORD_WEIGHT = 0.2
KEYWORD_Z_CAP = 3.0
# Raw similarity's weight when ranking routes (its spread is about a tenth of a z-score's).
RAW_RANK_WEIGHT = 10.0
# Standard deviations below which a background is too tight to calibrate against.
_MIN_SPREAD = 1e-3
_PHRASE_SEPARATOR = re.compile(r"\s*(?:[,;:]|\bor\b|\band\b)\s*", re.IGNORECASE)
# Descriptions are noun phrases ("writing functions"); requests are sentences. Framing a
# phrase as a request brings the two closer in the embedding space.
_PHRASE_FRAME = "i have a question about {}"


def route_texts(route: Route) -> list[str]:
    """The texts embedded for `route`, without duplicates, in a stable order: the name and
    description phrases framed as a request, then the examples as written."""
    phrases = [route.name.replace("_", " "), *_PHRASE_SEPARATOR.split(route.description)]
    framed = [_PHRASE_FRAME.format(text.strip().lower()) for text in phrases if text.strip()]
    examples = [text.strip() for text in route.examples if text.strip()]
    return list(dict.fromkeys([*framed, *examples]))


def conversation_texts(phrases: Sequence[str]) -> list[str]:
    """The built-in "other" phrases, framed like route phrases."""
    return list(dict.fromkeys(_PHRASE_FRAME.format(p.strip().lower()) for p in phrases))


@dataclass(frozen=True, slots=True)
class Calibration:
    """The decision rule's two constants (see the module docstring)."""

    min_z: float
    other_margin: float


@dataclass(frozen=True, slots=True)
class PhraseSet:
    """Embedded texts grouped by owner: rows `bounds[i]:bounds[i + 1]` belong to owner i."""

    vectors: np.ndarray
    bounds: tuple[int, ...]

    @classmethod
    def build(cls, texts: Sequence[Sequence[str]], vectors: np.ndarray) -> PhraseSet:
        bounds = [0]
        for group in texts:
            bounds.append(bounds[-1] + len(group))
        return cls(vectors, tuple(bounds))

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """queries (n x d, unit rows) → n x owners scores."""
        similarities = queries @ self.vectors.T
        return np.stack(
            [_group_score(similarities[:, start:end]) for start, end in pairwise(self.bounds)],
            axis=1,
        )

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes)


def _group_score(similarities: np.ndarray) -> np.ndarray:
    k = min(TOP_K, similarities.shape[1])
    top = -np.sort(-similarities, axis=1)[:, :k]
    return (1 - TOP_K_WEIGHT) * top[:, 0] + TOP_K_WEIGHT * top.mean(axis=1)


@dataclass(frozen=True, slots=True)
class Background:
    """The background corpus as the index needs it: unit vectors and lexical terms."""

    vectors: np.ndarray
    terms: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _Standardizer:
    mean: np.ndarray
    spread: np.ndarray

    @classmethod
    def fit(cls, background_scores: np.ndarray) -> _Standardizer:
        return cls(
            background_scores.mean(axis=0),
            np.maximum(background_scores.std(axis=0), _MIN_SPREAD),
        )

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return (scores - self.mean) / self.spread


@dataclass(frozen=True, slots=True)
class ConversationIntents:
    """The built-in face of "other", calibrated like a route."""

    phrases: PhraseSet
    z: _Standardizer

    @classmethod
    def build(cls, vectors: np.ndarray, background: Background) -> ConversationIntents:
        phrases = PhraseSet.build([range(len(vectors))], vectors)  # one owner, every row
        return cls(phrases, _Standardizer.fit(phrases.scores(background.vectors)))

    def z_scores(self, queries: np.ndarray) -> np.ndarray:
        return self.z(self.phrases.scores(queries))[:, 0]


@dataclass(frozen=True, slots=True)
class Scores:
    """A batch of queries scored against a route set: each queries x routes."""

    raw: np.ndarray
    calibrated: np.ndarray

    def choose(
        self, other_z: np.ndarray, calibration: Calibration
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per query, the best route's position and whether it is taken (else "other").

        Routes are ranked by calibrated score plus raw similarity: the z-score alone would
        favour a narrow route whose background is low over a clearly closer broad one."""
        best = np.argmax(self.calibrated + RAW_RANK_WEIGHT * self.raw, axis=1)  # ties: first
        score = self.calibrated[np.arange(len(best)), best]
        taken = (score >= calibration.min_z) & (other_z <= score + calibration.other_margin)
        return best, taken


@dataclass(frozen=True, slots=True)
class RouteIndex:
    """One route set, embedded, keyword-indexed and calibrated against the background."""

    names: tuple[str, ...]
    phrases: PhraseSet
    keywords: KeywordIndex
    semantic_z: _Standardizer
    keyword_z: _Standardizer

    @classmethod
    def build(
        cls,
        routes: Sequence[Route],
        texts: Sequence[Sequence[str]],
        vectors: np.ndarray,
        background: Background,
    ) -> RouteIndex:
        """`texts[i]` are route i's texts (see `route_texts`); `vectors` embeds them in order."""
        phrases = PhraseSet.build(texts, vectors)
        keywords = KeywordIndex.build(routes)
        return cls(
            tuple(route.name for route in routes),
            phrases,
            keywords,
            _Standardizer.fit(phrases.scores(background.vectors)),
            _Standardizer.fit(keywords.scores(background.terms)),
        )

    def scores(self, queries: np.ndarray, terms: Sequence[Sequence[str]]) -> Scores:
        """For unit query rows and their lexical terms: the semantic z-score plus a capped
        share of the keyword one."""
        raw = self.phrases.scores(queries)
        keyword = np.minimum(self.keyword_z(self.keywords.scores(terms)), KEYWORD_Z_CAP)
        return Scores(raw, self.semantic_z(raw) + KEYWORD_WEIGHT * keyword)

    def decide(
        self,
        query: np.ndarray,
        terms: Sequence[str],
        other: ConversationIntents,
        calibration: Calibration,
    ) -> str | None:
        """The route for a unit `query` vector and its terms, or None for "other"."""
        queries = query[np.newaxis, :]
        best, taken = self.scores(queries, [terms]).choose(other.z_scores(queries), calibration)
        return self.names[int(best[0])] if taken[0] else None

    @property
    def nbytes(self) -> int:
        return self.phrases.nbytes + self.keywords.nbytes
