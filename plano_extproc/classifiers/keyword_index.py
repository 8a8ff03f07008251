"""Keyword evidence for the embedded classifier: the lexical classifier's BM25, as matrices.

Sentence embeddings blur rare, decisive words ("W-2", "APR", "actix", "SQL"); BM25 over the
route texts keeps them. Each route's documents (name and description, then each example) are
weighted once, when the route set is indexed, into a documents x vocabulary matrix, so scoring
any number of queries is one matrix product and a maximum per route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plano_extproc.classifiers.lexical import build_index
from plano_extproc.config.model import Route


@dataclass(frozen=True, slots=True)
class KeywordIndex:
    vocabulary: dict[str, int]
    weights: np.ndarray  # documents x vocabulary
    owners: np.ndarray  # the route of each document

    @classmethod
    def build(cls, routes: Sequence[Route]) -> KeywordIndex:
        bm25 = build_index(tuple(routes))
        vocabulary = {term: column for column, term in enumerate(bm25.idf)}
        weights = np.zeros((len(bm25.documents), len(vocabulary)), dtype=np.float32)
        for row, document in enumerate(bm25.documents):
            for term in document.term_counts:
                weights[row, vocabulary[term]] = bm25.term_weight(term, document)
        position = {route.name: index for index, route in enumerate(routes)}
        owners = np.array([position[document.route] for document in bm25.documents])
        return cls(vocabulary, weights, owners)

    def scores(self, queries: Sequence[Sequence[str]]) -> np.ndarray:
        """Term lists (see `lexical.terms`) → queries x routes: each route's best document."""
        counts = np.zeros((len(queries), len(self.vocabulary)), dtype=np.float32)
        for row, terms in enumerate(queries):
            for term in terms:
                column = self.vocabulary.get(term)
                if column is not None:
                    counts[row, column] += 1
        by_document = counts @ self.weights.T
        routes = int(self.owners.max()) + 1 if len(self.owners) else 0
        best = np.zeros((len(queries), routes), dtype=np.float32)
        for route in range(routes):
            best[:, route] = by_document[:, self.owners == route].max(axis=1)
        return best

    @property
    def nbytes(self) -> int:
        return int(self.weights.nbytes + self.owners.nbytes)
