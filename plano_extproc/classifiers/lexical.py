"""Lexical route classifier: BM25 between the user's latest turn and each route's text.

Dependency-free and sub-millisecond, but it only sees shared word stems: "explain the
trade-offs" will not match "detailed explanations" unless a route `example` shares the words.
It is the low-accuracy fallback; the embedded classifier is the default.

Indexing a new route set and scoring run on one worker thread owned by the classifier, so a
large inline route set or a long conversation never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from plano_extproc.classifiers.base import ClassifierError
from plano_extproc.classifiers.lru import LruCache
from plano_extproc.config.model import Route
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role

DEFAULT_THRESHOLD = 1.5
# Virtual documents that contain none of the route words. Without them IDF depends on how many
# routes exist (one route → every term has near-zero weight) and no threshold fits all sizes.
_BACKGROUND_DOCUMENTS = 8
# Below this many content words the latest turn is treated as a follow-up ("and in Go?") and
# the previous user turn is added to the query.
_FOLLOW_UP_MAX_TERMS = 2
_BM25_K1 = 1.2
_BM25_B = 0.75
# Route-set indexes kept. An index takes about 10-17 bytes per character of route text
# (measured); 20 over-estimates it, so the byte bound holds. 32 MiB is 48 indexes of the
# largest inline route set, or one config route set of about 1.6 million characters.
_INDEXES_CACHED = 64
# Classifications waiting for the one worker thread, at most.
MAX_QUEUED = 64
_INDEX_CACHE_BYTES = 32 * 1024 * 1024
_INDEX_BYTES_PER_CHAR = 20

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    """a about an and any are as at be been but by can could do does for from had has have how i
    if in into is it its me my of on or our please so some that the their them then there these
    this to us was we were what when where which who why will with would you your""".split()
)
# Longest first; a suffix is stripped only if at least three letters remain.
_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ies", "es", "ed", "ly", "s", "e")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Lowercased, stop-word-free, lightly stemmed words of `text`."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class _Document:
    route: str
    term_counts: Counter[str]
    length: int


@dataclass(frozen=True, slots=True)
class RouteIndex:
    """BM25 statistics for one route set. Each route contributes one document for its name plus
    description and one per example; a route scores as its best document."""

    documents: tuple[_Document, ...]
    idf: dict[str, float]
    average_length: float

    def scores(self, query: Sequence[str]) -> dict[str, float]:
        best: dict[str, float] = {}
        for doc in self.documents:
            score = self._bm25(query, doc)
            if score > best.get(doc.route, 0.0):
                best[doc.route] = score
        return best

    def _bm25(self, query: Sequence[str], doc: _Document) -> float:
        return sum(self.term_weight(term, doc) for term in query)

    def term_weight(self, term: str, doc: _Document) -> float:
        """What one occurrence of `term` in a query adds to `doc`'s BM25 score."""
        tf = doc.term_counts.get(term)
        if not tf:
            return 0.0
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * doc.length / self.average_length)
        return self.idf[term] * tf * (_BM25_K1 + 1) / (tf + norm)


def _route_texts(route: Route) -> list[str]:
    return [f"{route.name.replace('_', ' ')} {route.description}", *route.examples]


def build_index(routes: tuple[Route, ...]) -> RouteIndex:
    documents = []
    for route in routes:
        for text in _route_texts(route):
            words = terms(text)
            documents.append(_Document(route.name, Counter(words), max(len(words), 1)))
    doc_freq: Counter[str] = Counter()
    for doc in documents:
        doc_freq.update(doc.term_counts.keys())
    total = len(documents) + _BACKGROUND_DOCUMENTS
    idf = {term: math.log(1 + (total - df + 0.5) / (df + 0.5)) for term, df in doc_freq.items()}
    average = sum(doc.length for doc in documents) / max(len(documents), 1)
    return RouteIndex(tuple(documents), idf, average)


def _index_size(routes: tuple[Route, ...], _index: RouteIndex) -> int:
    chars = sum(len(text) for route in routes for text in _route_texts(route))
    return chars * _INDEX_BYTES_PER_CHAR


def query_terms(messages: Sequence[Message]) -> list[str]:
    """Terms of the latest user turn, plus the previous user turn when the latest is a short
    follow-up."""
    user_texts = [m.text for m in reversed(messages) if m.role is Role.USER and m.text]
    if not user_texts:
        return []
    query = terms(user_texts[0])
    if len(query) <= _FOLLOW_UP_MAX_TERMS and len(user_texts) > 1:
        query += terms(user_texts[1])
    return query


class LexicalClassifier:
    """Implements `Classifier`; `threshold` is the minimum BM25 score for a route to match."""

    def __init__(self, threshold: float | None = None) -> None:
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        # One thread: the work is CPU-bound under the GIL, so more would only contend.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lexical")
        self._indexes: LruCache[tuple[Route, ...], RouteIndex] = LruCache(
            _INDEXES_CACHED, max_bytes=_INDEX_CACHE_BYTES, size_of=_index_size
        )
        # best_route may also be called directly, on a thread other than the worker.
        self._indexes_lock = threading.Lock()
        self._queued = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        """Raises ClassifierError (the request falls back) when `MAX_QUEUED` are waiting: the
        queue would otherwise grow with the load, each entry running long after its deadline."""
        if self._queued >= MAX_QUEUED:
            raise ClassifierError(f"more than {MAX_QUEUED} classifications are waiting")
        self._queued += 1
        job = asyncio.get_running_loop().run_in_executor(
            self._executor, self.best_route, routes, messages
        )
        # Counted until the work itself ends, even when the caller stopped waiting for it.
        job.add_done_callback(self._done)
        return await job

    def _done(self, _job: asyncio.Future[str | None]) -> None:
        self._queued -= 1

    def best_route(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        """The decision, computed on the calling thread (classify calls it on the worker)."""
        query = query_terms(messages)
        if not query or not routes:
            return None
        scores = self.index(routes).scores(query)
        # Ties keep config order: max() returns the first maximal route.
        best = max(routes, key=lambda r: scores.get(r.name, 0.0))
        return best.name if scores.get(best.name, 0.0) >= self.threshold else None

    def index(self, routes: tuple[Route, ...]) -> RouteIndex:
        """The index of `routes`, cached per route set: config routes are indexed once."""
        with self._indexes_lock:
            cached = self._indexes.get(routes)
        if cached is not None:
            return cached
        built = build_index(routes)
        with self._indexes_lock:
            self._indexes.put(routes, built)
        return built
