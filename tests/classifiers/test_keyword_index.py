"""KeywordIndex: the lexical classifier's BM25 as matrices must score exactly like it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from plano_extproc.classifiers.keyword_index import KeywordIndex
from plano_extproc.classifiers.lexical import build_index, terms
from plano_extproc.config.model import Route

CODE = Route(
    "code_generation",
    "generating new code snippets, writing functions, or creating boilerplate",
    ("m",),
    examples=("Build a React component", "Create a REST endpoint with actix-web"),
)
REASONING = Route(
    "complex_reasoning",
    "complex reasoning tasks, multi-step analysis, or detailed explanations",
    ("m",),
    examples=("Explain the trade-offs between two designs",),
)
TAXES = Route("tax_help", "W-2 forms, APR on loans and tax deductions", ("m",))
ROUTES = (CODE, REASONING, TAXES)

QUERIES = [
    "Write a Python function that implements binary search",
    "Build a React component for a sortable table",
    "Explain the trade-offs between microservices and monoliths",
    "What APR applies to my W-2 loan?",
    "function function function code",  # repeated words count every time
    "zyzzyva quokka flibbertigibbet",  # no word of any route
    "REST endpoint actix analysis tax",  # words of several routes
]


def lexical_scores(routes: Sequence[Route], query: Sequence[str]) -> list[float]:
    """The reference: the lexical classifier's per-route best-document BM25."""
    best = build_index(tuple(routes)).scores(query)
    return [best.get(route.name, 0.0) for route in routes]


def keyword_scores(routes: Sequence[Route], queries: Sequence[Sequence[str]]) -> np.ndarray:
    return KeywordIndex.build(routes).scores(queries)


@pytest.mark.parametrize("text", QUERIES)
def test_scores_match_lexical_bm25(text: str) -> None:
    query = terms(text)
    (scores,) = keyword_scores(ROUTES, [query])
    np.testing.assert_allclose(scores, lexical_scores(ROUTES, query), rtol=1e-5, atol=1e-6)


def test_batch_of_queries_matches_each_query_alone() -> None:
    queries = [terms(text) for text in QUERIES]
    batch = keyword_scores(ROUTES, queries)
    assert batch.shape == (len(QUERIES), len(ROUTES))
    for row, query in zip(batch, queries, strict=True):
        np.testing.assert_allclose(row, lexical_scores(ROUTES, query), rtol=1e-5, atol=1e-6)


def test_repeated_words_add_up() -> None:
    word = terms("function")
    once, thrice = keyword_scores(ROUTES, [word, word * 3])
    assert once[0] > 0
    np.testing.assert_allclose(thrice, 3 * once, rtol=1e-6)


def test_unknown_words_score_nothing() -> None:
    (scores,) = keyword_scores(ROUTES, [terms("zyzzyva quokka")])
    np.testing.assert_array_equal(scores, np.zeros(len(ROUTES)))


def test_empty_term_list_scores_zero() -> None:
    scores = keyword_scores(ROUTES, [[], terms("binary search function")])
    np.testing.assert_array_equal(scores[0], np.zeros(len(ROUTES)))
    assert scores[1, 0] > 0


def best_document_scores(routes: Sequence[Route], query: Sequence[str]) -> list[float]:
    """Each route's maximum, over its documents, of the summed BM25 term weights."""
    bm25 = build_index(tuple(routes))
    per_document = [
        (document.route, sum(bm25.term_weight(term, document) for term in query))
        for document in bm25.documents
    ]
    return [max(score for name, score in per_document if name == r.name) for r in routes]


@pytest.mark.parametrize("text", ["react component", "build a component with code", "tax"])
def test_route_scores_as_its_best_document(text: str) -> None:
    query = terms(text)
    (scores,) = keyword_scores(ROUTES, [query])
    np.testing.assert_allclose(scores, best_document_scores(ROUTES, query), rtol=1e-5)


def test_example_words_score_only_their_route() -> None:
    # "react component" appears only in an example of CODE.
    (scores,) = keyword_scores(ROUTES, [terms("react component")])
    assert np.flatnonzero(scores).tolist() == [0]


def test_routes_without_examples() -> None:
    routes = [Route("a_route", "apples and pears", ("m",)), Route("b", "bananas", ("m",))]
    query = terms("pears bananas bananas")
    (scores,) = keyword_scores(routes, [query])
    np.testing.assert_allclose(scores, lexical_scores(routes, query), rtol=1e-5)
    assert scores[0] > 0
    assert scores[1] > 0


def test_route_order_follows_the_routes() -> None:
    query = terms("W-2 APR deductions")
    forward = keyword_scores(ROUTES, [query])[0]
    backward = keyword_scores(ROUTES[::-1], [query])[0]
    np.testing.assert_allclose(backward, forward[::-1], rtol=1e-6)
    assert forward.argmax() == 2


def test_no_queries_and_no_routes() -> None:
    assert keyword_scores(ROUTES, []).shape == (0, len(ROUTES))
    assert keyword_scores([], [terms("anything")]).shape == (1, 0)


def test_vocabulary_and_weights_shape() -> None:
    index = KeywordIndex.build(ROUTES)
    documents = len(build_index(ROUTES).documents)
    assert index.weights.shape == (documents, len(index.vocabulary))
    assert index.owners.tolist() == [0, 0, 0, 1, 1, 2]
    assert set(terms("writing functions")) <= index.vocabulary.keys()
    assert (index.weights >= 0).all()
    assert index.nbytes == index.weights.nbytes + index.owners.nbytes > 0
