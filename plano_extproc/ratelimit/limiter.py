"""Which buckets a request draws on, and charging them (config `ratelimits`).

An entry applies to a request for its model that carries its header: with `value: "*"` each
distinct header value has its own bucket, else only that value is counted. A request without
the header is not counted by that entry (Plano's rule: no selector, no limit). Every entry that
applies must have room for the request, or none is charged.

Client header values never become keys or labels as sent: keys hold a digest, and the metrics
label a value by itself only for the first values of an entry that look like names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from plano_extproc.config.model import ModelProvider, RateLimitRule
from plano_extproc.ratelimit.store import Bucket, BucketStore, Verdict
from plano_extproc.telemetry.metrics import RATELIMIT_LIMITED, RATELIMIT_TOKENS

# Distinct client values an entry labels in metrics; later ones share one label.
MAX_LABELLED_VALUES = 100
OTHER_VALUES = "other"
_LABEL_SAFE = re.compile(r"[A-Za-z0-9_.@:/-]{1,64}")


@dataclass(frozen=True, slots=True)
class Applied:
    """One entry applying to one request: its bucket and its metric children."""

    bucket: Bucket
    tokens: Counter
    limited: Counter


class RateLimiter:
    """Built once per config; `applied` is a few dict lookups and, for `*` entries, a digest."""

    def __init__(self, rules: Sequence[RateLimitRule], store: BucketStore) -> None:
        self._store = store
        self._by_model: dict[str, list[RateLimitRule]] = {}
        for rule in rules:
            self._by_model.setdefault(rule.model, []).append(rule)
        self._labels: dict[RateLimitRule, dict[str, str]] = {rule: {} for rule in rules}
        self._selectors = {
            rule: f"{rule.header}=*" if rule.value is None else f"{rule.header}={rule.value}"
            for rule in rules
        }
        # Metric children by (model, selector, value): `.labels()` hashes and locks per call.
        self._children: dict[tuple[str, str, str], tuple[Counter, Counter]] = {}

    @property
    def store(self) -> BucketStore:
        return self._store

    def limits(self, provider: ModelProvider) -> bool:
        return provider.name in self._by_model or provider.wildcard_of in self._by_model

    def applied(self, provider: ModelProvider, headers: Mapping[str, str]) -> list[Applied]:
        """The entries for `provider` whose header the request carries; a wildcard entry's
        (`openai/*`) limit each model it serves on its own."""
        rules = self._by_model.get(provider.name, [])
        if provider.wildcard_of is not None:
            rules = [*rules, *self._by_model.get(provider.wildcard_of, [])]
        found = []
        for rule in rules:
            value = headers.get(rule.header)
            if value is None or (rule.value is not None and value != rule.value):
                continue
            found.append(self._apply(rule, provider.name, value))
        return found

    async def take(self, applied: Sequence[Applied], tokens: int) -> Verdict:
        verdict = await self._store.take([a.bucket for a in applied], tokens)
        if verdict.allowed:
            for entry in applied:
                entry.tokens.inc(tokens)
        elif verdict.refused_by is not None:
            applied[verdict.refused_by].limited.inc()
        return verdict

    async def adjust(self, buckets: Sequence[Bucket], delta: int) -> None:
        if delta:
            await self._store.adjust(buckets, delta)

    async def available(self, applied: Sequence[Applied]) -> list[float]:
        return await self._store.available([a.bucket for a in applied])

    async def close(self) -> None:
        await self._store.close()

    def _apply(self, rule: RateLimitRule, model: str, value: str) -> Applied:
        digest = hashlib.blake2b(value.encode(), digest_size=12).hexdigest()
        key = f"{model}|{rule.header}|{digest}"
        label = self._label(rule, value, digest) if rule.value is None else rule.value
        tokens, limited = self._counters((model, self._selectors[rule], label))
        return Applied((key, rule), tokens, limited)

    def _counters(self, labels: tuple[str, str, str]) -> tuple[Counter, Counter]:
        """Bounded by entries, the models they serve (wildcards: at most 1024) and
        MAX_LABELLED_VALUES + 1 values each."""
        children = self._children.get(labels)
        if children is None:
            children = RATELIMIT_TOKENS.labels(*labels), RATELIMIT_LIMITED.labels(*labels)
            self._children[labels] = children
        return children

    def _label(self, rule: RateLimitRule, value: str, digest: str) -> str:
        """The value itself when it looks like a name, else its digest's start; past
        MAX_LABELLED_VALUES per entry, "other": a client cannot grow the series."""
        known = self._labels[rule]
        label = known.get(digest)
        if label is not None:
            return label
        if len(known) >= MAX_LABELLED_VALUES:
            return OTHER_VALUES
        label = value if _LABEL_SAFE.fullmatch(value) else f"#{digest[:8]}"
        known[digest] = label
        return label
