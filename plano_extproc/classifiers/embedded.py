"""Embedded route classifier: zero-shot similarity with all-MiniLM-L6-v2, on the CPU, offline.

The latest user turn is embedded and compared with every route's texts (see `route_index`);
the best route wins when its score reaches the threshold, else the answer is "other" (None).
A short follow-up ("and in French?", "now in Go") is read together with the previous user
turn: its vector is the sum of both turns' vectors, the latest weighing more.

Inference never runs on the event loop: texts go through a micro-batcher to one inference
thread. Route sets are embedded once (config routes at start, inline ones on first use, kept
in an LRU), so a request costs one forward pass over its own text, shared with concurrent
requests; repeated conversations are answered from a decision cache.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from plano_extproc.api.conversation import Message, Role
from plano_extproc.classifiers.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_S, MicroBatcher
from plano_extproc.classifiers.encoder import load_encoder, release_free_memory
from plano_extproc.classifiers.lru import LruCache
from plano_extproc.classifiers.route_index import RouteIndex, route_texts
from plano_extproc.config.model import Route

# Calibrated on the CLINC150 validation task (eval/clinc150): the best accuracy there.
DEFAULT_THRESHOLD = 0.36
# A latest turn of at most this many words is read as a follow-up of the previous user turn.
FOLLOW_UP_MAX_WORDS = 6
FOLLOW_UP_CONTEXT_WEIGHT = 0.75
# Long messages are cut before tokenizing; the encoder keeps only the first 128 tokens anyway.
MAX_TEXT_CHARS = 2048
ROUTE_SETS_CACHED = 64
TEXTS_CACHED = 8192
DECISIONS_CACHED = 8192
_WARM_UP_TEXT = "warm up"


@dataclass(frozen=True, slots=True)
class Query:
    """What is embedded for a decision: the latest user turn, and the previous one when the
    latest is a short follow-up. Texts are whitespace-normalised and lowercased (the model's
    tokenizer lowercases anyway), so equal queries share cache entries."""

    latest: str
    context: str | None = None

    @property
    def texts(self) -> list[str]:
        return [self.latest] if self.context is None else [self.latest, self.context]


def build_query(messages: Sequence[Message]) -> Query | None:
    user_turns = [_normalized(m.text) for m in messages if m.role is Role.USER]
    user_turns = [text for text in user_turns if text]
    if not user_turns:
        return None
    latest = user_turns[-1]
    if len(user_turns) > 1 and len(latest.split()) <= FOLLOW_UP_MAX_WORDS:
        return Query(latest, user_turns[-2])
    return Query(latest)


def _normalized(text: str) -> str:
    return " ".join(text[:MAX_TEXT_CHARS].lower().split())


def torch_threads() -> int:
    """Intra-op threads for inference: all cores but one, which the event loop keeps."""
    return max(1, len(os.sched_getaffinity(0)) - 1)


class EmbeddedClassifier:
    """Implements `Classifier`; `threshold` is the minimum route score (cosine-like, -1..1).

    `routes` (the config's) are embedded at start, so the first request does not pay for it.
    """

    def __init__(
        self,
        threshold: float | None = None,
        routes: tuple[Route, ...] = (),
        *,
        window_s: float = DEFAULT_WINDOW_S,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self._config_routes = routes
        self._batcher = MicroBatcher(
            threads=torch_threads(), window_s=window_s, max_batch=max_batch
        )
        self._indexes: LruCache[tuple[Route, ...], asyncio.Future[RouteIndex]] = LruCache(
            ROUTE_SETS_CACHED
        )
        self._vectors: LruCache[str, torch.Tensor] = LruCache(TEXTS_CACHED)
        self._decisions: LruCache[tuple[tuple[Route, ...], Query], str | None] = LruCache(
            DECISIONS_CACHED
        )

    async def start(self) -> None:
        """Loads the model (seconds, off the loop), warms up and embeds the config routes."""
        encoder = await self._batcher.call(load_encoder)
        self._batcher.start(encoder.encode)
        await self._embed([_WARM_UP_TEXT])
        if self._config_routes:
            await self._index(self._config_routes)
        await self._batcher.call(release_free_memory)

    async def close(self) -> None:
        await self._batcher.close()

    async def classify(self, routes: tuple[Route, ...], messages: Sequence[Message]) -> str | None:
        query = build_query(messages)
        if query is None or not routes:
            return None
        key = (routes, query)
        if key in self._decisions:
            return self._decisions.get(key)
        index = await self._index(routes)
        scores = index.scores(await self._query_vector(query))
        best = max(range(len(scores)), key=scores.__getitem__)  # ties keep config order
        route = index.names[best] if scores[best] >= self.threshold else None
        self._decisions.put(key, route)
        return route

    async def _query_vector(self, query: Query) -> torch.Tensor:
        vectors = await self._embed(query.texts)
        if query.context is None:
            return vectors[0]
        return torch.nn.functional.normalize(
            vectors[0] + FOLLOW_UP_CONTEXT_WEIGHT * vectors[1], dim=-1
        )

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
        texts = [route_texts(route) for route in routes]
        vectors = await self._embed([text for group in texts for text in group])
        return RouteIndex.build(routes, texts, vectors)

    async def _embed(self, texts: list[str]) -> torch.Tensor:
        """Unit vectors for `texts`, from the text cache or one batched encode of the rest."""
        found: dict[str, torch.Tensor] = {}
        missing: list[str] = []
        for text in dict.fromkeys(texts):
            vector = self._vectors.get(text)
            if vector is None:
                missing.append(text)
            else:
                found[text] = vector
        if missing:
            for text, vector in zip(missing, await self._batcher.encode(missing), strict=True):
                found[text] = vector
                self._vectors.put(text, vector)
        return torch.stack([found[text] for text in texts])
