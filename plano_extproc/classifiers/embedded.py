"""Embedded route classifier: zero-shot similarity with all-MiniLM-L6-v2, on the CPU, offline.

The latest user turn is embedded and compared with every route's texts; the route set is
calibrated against a background corpus when it is indexed, so no threshold needs setting (see
`route_index`). A short follow-up ("and in French?", "now in Go") is read together with the
previous user turn: its vector is the sum of both turns' vectors, the latest weighing more.
Only user turns count: system prompts, assistant answers and tool results never move the
decision, so an agent loop that ends in a tool result keeps the decision of its user request.

Inference never runs on the event loop: texts go through a micro-batcher to one inference
thread, decisions' queries ahead of route-set indexing. Route sets are embedded once (config
routes at start, inline ones on first use, kept in a byte-bounded LRU), so a request costs
one forward pass over its own text, shared with concurrent requests; repeated conversations
are answered from a decision cache.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from plano_extproc.classifiers.batcher import (
    DEFAULT_MAX_BATCH,
    DEFAULT_WINDOW_S,
    MicroBatcher,
    Priority,
)
from plano_extproc.classifiers.encoder import (
    SentenceEncoder,
    background_sentences,
    limit_malloc_arenas,
    load_encoder,
)
from plano_extproc.classifiers.lexical import terms
from plano_extproc.classifiers.lru import LruCache
from plano_extproc.classifiers.route_index import (
    Background,
    Calibration,
    ConversationIntents,
    RouteIndex,
    conversation_texts,
    route_texts,
)
from plano_extproc.config.model import Route
from plano_extproc.wire.conversation import Message
from plano_extproc.wire.ir import Role

# Tuned on CLINC150's training split and eval/tuning (never on the sets reported in eval/).
DEFAULT_MIN_Z = 1.2
DEFAULT_OTHER_MARGIN = -0.5
# A latest turn of at most this many words is read as a follow-up of the previous user turn.
FOLLOW_UP_MAX_WORDS = 6
FOLLOW_UP_CONTEXT_WEIGHT = 0.75
# The first sentence of a longer turn is embedded too, with this weight, and at most this long.
HEAD_WEIGHT = 0.5
HEAD_MAX_WORDS = 16
# Long messages are cut before tokenizing; the encoder keeps only the first 128 tokens anyway.
MAX_TEXT_CHARS = 2048
ROUTE_SETS_CACHED = 64
ROUTE_SET_BYTES = 64 << 20
TEXTS_CACHED = 8192
TEXT_BYTES = 32 << 20
DECISIONS_CACHED = 8192
DECISION_BYTES = 16 << 20
# Texts a route set is embedded in per batch, between decisions' queries.
INDEX_SLICE = 16
_WARM_UP_TEXT = "warm up"
_SENTENCE_END = re.compile(r"(?<=[.?!:])\s|\n")
_VECTOR_BYTES = 384 * 4


@dataclass(frozen=True, slots=True)
class Query:
    """What is embedded for a decision: the latest user turn; the previous one when the latest
    is a short follow-up; and the latest turn's first sentence when it has more, since a
    request usually leads with what it wants and pasted material follows. Texts are
    whitespace-normalised and lowercased (the model's tokenizer lowercases anyway), so equal
    queries share cache entries."""

    latest: str
    context: str | None = None
    head: str | None = None

    @property
    def texts(self) -> list[str]:
        return [text for text in (self.latest, self.context, self.head) if text is not None]

    @property
    def weights(self) -> list[float]:
        """Each text's weight in the query vector, in the order of `texts`."""
        optional = ((self.context, FOLLOW_UP_CONTEXT_WEIGHT), (self.head, HEAD_WEIGHT))
        return [1.0, *(weight for text, weight in optional if text is not None)]

    @property
    def terms(self) -> list[str]:
        """Lexical terms of the turns, for the keyword half of the score."""
        return [term for text in (self.latest, self.context) if text for term in terms(text)]

    @property
    def nbytes(self) -> int:
        return sum(len(text) for text in self.texts)

    def vector(self, embedded: np.ndarray) -> np.ndarray:
        """The query's unit vector from its texts' unit vectors (rows in `texts` order)."""
        combined = np.asarray(self.weights, dtype=np.float32) @ embedded
        return combined / np.linalg.norm(combined)


def build_query(messages: Sequence[Message]) -> Query | None:
    user_turns = [_normalized(m.text) for m in messages if m.role is Role.USER]
    user_turns = [text for text in user_turns if text]
    if not user_turns:
        return None
    latest = user_turns[-1]
    if len(user_turns) > 1 and len(latest.split()) <= FOLLOW_UP_MAX_WORDS:
        return Query(latest, context=user_turns[-2])
    head = _first_sentence(latest)
    return Query(latest, head=head if head != latest else None)


def _first_sentence(text: str) -> str:
    words = _SENTENCE_END.split(text, maxsplit=1)[0].split()
    return " ".join(words[:HEAD_MAX_WORDS])


def _normalized(text: str) -> str:
    """Lowercased, whitespace runs collapsed, but line breaks kept: they end sentences."""
    lines = (" ".join(line.split()) for line in text[:MAX_TEXT_CHARS].lower().splitlines())
    return "\n".join(line for line in lines if line)


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def inference_workers(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """Batches run at once, one per core, each on one thread: small matrices gain little from
    splitting one product over threads, and much from running two batches side by side.

    The cores are those the process may run on, capped by its cgroup's CPU quota (a container's
    CPU limit), which the affinity mask does not show.
    """
    cores = max(1, len(os.sched_getaffinity(0)))
    quota = cgroup_cpu_quota(cpu_max)
    return cores if quota is None else max(1, min(cores, math.ceil(quota)))


def cgroup_cpu_quota(cpu_max: Path) -> float | None:
    """Cores allowed by a cgroup v2 `cpu.max` ("quota period", or "max period"); None: no cap."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def conversation_phrases() -> list[str]:
    text = resources.files(__package__).joinpath("conversation.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def embedded_background(encoder: SentenceEncoder) -> Background:
    sentences = background_sentences()
    return Background(
        encoder.encode(sentences), tuple(tuple(terms(sentence)) for sentence in sentences)
    )


def embedded_conversation(encoder: SentenceEncoder, background: Background) -> ConversationIntents:
    return ConversationIntents.build(
        encoder.encode(conversation_texts(conversation_phrases())), background
    )


def _vector_bytes(key: str, vector: np.ndarray) -> int:
    return sys.getsizeof(key) + int(vector.nbytes)


def _index_bytes(routes: tuple[Route, ...], _: object) -> int:
    """An index's size, known before it is built: a float32 vector per route text."""
    return sum(len(route_texts(route)) for route in routes) * _VECTOR_BYTES


class EmbeddedClassifier:
    """Implements `Classifier`. `min_z` overrides the calibrated default (config `threshold`).

    `routes` (the config's) are embedded at start, so the first request does not pay for it.
    """

    def __init__(
        self,
        min_z: float | None = None,
        routes: tuple[Route, ...] = (),
        *,
        window_s: float = DEFAULT_WINDOW_S,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.calibration = Calibration(
            min_z=DEFAULT_MIN_Z if min_z is None else min_z, other_margin=DEFAULT_OTHER_MARGIN
        )
        self._config_routes = routes
        limit_malloc_arenas()
        self._batcher = MicroBatcher(
            workers=inference_workers(), window_s=window_s, max_batch=max_batch
        )
        self._indexes: LruCache[tuple[Route, ...], asyncio.Future[RouteIndex]] = LruCache(
            ROUTE_SETS_CACHED, max_bytes=ROUTE_SET_BYTES, size_of=_index_bytes
        )
        self._vectors: LruCache[str, np.ndarray] = LruCache(
            TEXTS_CACHED, max_bytes=TEXT_BYTES, size_of=_vector_bytes
        )
        self._decisions: LruCache[tuple[tuple[Route, ...], Query], str] = LruCache(
            DECISIONS_CACHED,
            max_bytes=DECISION_BYTES,
            size_of=lambda key, value: 64 + key[1].nbytes + len(value),
        )
        self._background: Background | None = None
        self._other: ConversationIntents | None = None

    @property
    def threshold(self) -> float:
        return self.calibration.min_z

    async def start(self) -> None:
        """Loads the model (about a second, off the loop), embeds the background and the
        "other" phrases, warms up and indexes the config routes."""
        encoder: SentenceEncoder = await self._batcher.call(load_encoder)
        self._batcher.start(encoder.encode)
        self._background = await self._batcher.call(embedded_background, encoder)
        self._other = await self._batcher.call(embedded_conversation, encoder, self._background)
        await self._embed([_WARM_UP_TEXT])
        if self._config_routes:
            await self._index(self._config_routes)

    async def close(self) -> None:
        await self._batcher.close()

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        query = build_query(messages)
        if query is None or not routes:
            return None
        key = (routes, query)
        if key in self._decisions:
            return self._decisions.get(key) or None
        index = await self._index(routes)
        assert self._other is not None  # set by start()
        vector = await self._query_vector(query)
        route = index.decide(vector, query.terms, self._other, self.calibration)
        self._decisions.put(key, route or "")
        return route

    async def _query_vector(self, query: Query) -> np.ndarray:
        return query.vector(await self._embed(query.texts))

    async def _index(self, routes: tuple[Route, ...]) -> RouteIndex:
        """The route set's index; concurrent first uses share one build."""
        building = self._indexes.get(routes)
        if building is None:
            building = asyncio.ensure_future(self._build_index(routes))
            self._indexes.put(routes, building)
        try:
            return await asyncio.shield(building)
        except Exception:
            self._indexes.pop(routes)
            raise

    async def _build_index(self, routes: tuple[Route, ...]) -> RouteIndex:
        assert self._background is not None  # set by start()
        texts = [route_texts(route) for route in routes]
        flat = [text for group in texts for text in group]
        slices = [
            self._embed(flat[start : start + INDEX_SLICE], Priority.BACKGROUND)
            for start in range(0, len(flat), INDEX_SLICE)
        ]
        vectors = np.concatenate(await asyncio.gather(*slices))
        # Calibration scores the whole background corpus: a few ms for a large set, off the loop.
        return await self._batcher.call(RouteIndex.build, routes, texts, vectors, self._background)

    async def _embed(self, texts: list[str], priority: Priority = Priority.QUERY) -> np.ndarray:
        """Unit vectors for `texts`, from the text cache or one batched encode of the rest."""
        found: dict[str, np.ndarray] = {}
        missing: list[str] = []
        for text in dict.fromkeys(texts):
            vector = self._vectors.get(text)
            if vector is None:
                missing.append(text)
            else:
                found[text] = vector
        if missing:
            rows = await self._batcher.encode(missing, priority)
            for text, vector in zip(missing, rows, strict=True):
                found[text] = vector
                self._vectors.put(text, vector)
        return np.stack([found[text] for text in texts])
