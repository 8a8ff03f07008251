"""The routing filter's side of `ratelimits`: charging a request's estimated prompt tokens to
the buckets of the model that will answer, before any provider is called; a routed request
whose best model has no room goes to the next ranked model that has (ours); and the record
the response side corrects with the provider's reported usage (extproc/usage_correction.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from google.protobuf.struct_pb2 import Struct
from prometheus_client import Counter

from plano_extproc.config.model import Config, ModelProvider
from plano_extproc.contract.client_api import ClientApi
from plano_extproc.contract.headers import TRANSLATE_HEADER, USAGE_HEADER
from plano_extproc.contract.metadata import set_strings
from plano_extproc.extproc.generated.envoy.ext_proc_pb2 import HeaderValueOption
from plano_extproc.extproc.messages import set_header
from plano_extproc.extproc.offload import Offload
from plano_extproc.ratelimit.corrections import Corrections
from plano_extproc.ratelimit.estimate import estimate_prompt_tokens
from plano_extproc.ratelimit.gcra import Quota
from plano_extproc.ratelimit.limiter import Applied, RateLimiter
from plano_extproc.ratelimit.store import Bucket, build_bucket_store
from plano_extproc.routing.decision import (
    CHARGED,
    CHECKED,
    LIMITED,
    BudgetCheck,
    Decision,
    Fallback,
)
from plano_extproc.telemetry.metrics import RATELIMIT_USED
from plano_extproc.wire.conversation import ParsedRequest
from plano_extproc.wire.ir import Denial, ErrorKind

# The charge travels to the response side in the decision's metadata under this key.
CHARGE_KEY = "ratelimit"
CLOSE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Charge:
    """What a request was charged: the model and its buckets, the tokens, and the API its
    answer is in. A request with a `retry_policy` also carries its later candidates' buckets
    (`alternates`), for an answer one of them gives."""

    buckets: tuple[Bucket, ...]
    tokens: int
    api: ClientApi
    model: str
    alternates: tuple[tuple[str, tuple[Bucket, ...]], ...] = ()

    def alternate(self, model: str | None) -> tuple[Bucket, ...] | None:
        return next((buckets for name, buckets in self.alternates if name == model), None)

    def to_json(self) -> str:
        value = {
            "b": _buckets_json(self.buckets),
            "t": self.tokens,
            "api": self.api.value,
            "m": self.model,
            "alt": [[name, _buckets_json(buckets)] for name, buckets in self.alternates],
        }
        return orjson.dumps(value).decode()

    @classmethod
    def from_json(cls, text: str) -> Charge | None:
        try:
            value = orjson.loads(text)
            alternates = tuple((str(name), _buckets(b)) for name, b in value["alt"])
            api = ClientApi(value["api"])
            return cls(_buckets(value["b"]), int(value["t"]), api, str(value["m"]), alternates)
        except (ValueError, KeyError, TypeError):
            return None


def _buckets_json(buckets: tuple[Bucket, ...]) -> list[list[Any]]:
    return [[key, limit.tokens, limit.unit_seconds] for key, limit in buckets]


def _buckets(value: list[list[Any]]) -> tuple[Bucket, ...]:
    return tuple((str(key), Quota(int(tokens), float(unit))) for key, tokens, unit in value)


@dataclass(frozen=True, slots=True)
class Admitted:
    provider: ModelProvider
    decision: Decision
    charge: Charge | None  # None: no entry applied


class RequestLimits:
    def __init__(
        self, config: Config, offload: Offload | None = None, limiter: RateLimiter | None = None
    ) -> None:
        self._limiter = limiter or RateLimiter(config.ratelimits, build_bucket_store(config))
        # A large body's estimate (about 8 µs per KB) runs off the event loop.
        self._offload = offload or Offload()
        self._providers = config.provider_by_name
        self._corrections = Corrections(self._limiter.adjust)
        # Metric children by model, built on first use: `.labels()` hashes and locks per call.
        self._used: dict[str, Counter] = {}

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    async def admit(
        self,
        decision: Decision,
        provider: ModelProvider,
        parsed: ParsedRequest,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Admitted | Denial:
        """Charges the first model with room: `provider`, or for a routed request the next
        ranked models after it. None has room: a 429 with the shortest wait. The prompt is
        estimated only once an entry applies (`body` is the raw request, for its size)."""
        candidates = [provider]
        if decision.matched:
            candidates += [self._providers[m] for m in decision.models if m != provider.name]
        tokens = 0
        waits: list[float] = []
        for position, candidate in enumerate(candidates):
            applied = self._limiter.applied(candidate, headers)
            if not applied:
                return Admitted(candidate, _moved(decision, candidates, position), None)
            tokens = tokens or await self._estimate(parsed, body)
            verdict = await self._limiter.take(applied, tokens)
            if verdict.allowed:
                buckets = tuple(a.bucket for a in applied)
                charge = Charge(buckets, tokens, parsed.api, candidate.name)
                return Admitted(candidate, _moved(decision, candidates, position), charge)
            if verdict.retry_after is not None:
                waits.append(verdict.retry_after)
        return _limited(provider, tokens, waits)

    async def for_failover(
        self,
        charge: Charge | None,
        candidates: Sequence[str],
        parsed: ParsedRequest,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Charge | None:
        """A request with a `retry_policy`: its charge, with the buckets of each later
        candidate, so that an answer a fallback gives is counted on that model's buckets (and
        the first model's charge given back). Nothing to count anywhere: None."""
        first = charge.model if charge is not None else candidates[0]
        alternates = tuple(
            (model, tuple(a.bucket for a in self._limiter.applied(provider, headers)))
            for model in candidates
            if model != first and (provider := self._providers.get(model)) is not None
        )
        if not any(buckets for _, buckets in alternates):
            return charge
        if charge is None:
            charge = Charge((), await self._estimate(parsed, body), parsed.api, first)
        return dataclasses.replace(charge, alternates=alternates)

    async def out_of_budget(
        self,
        models: Sequence[str],
        parsed: ParsedRequest,
        headers: Mapping[str, str],
        body: bytes,
    ) -> list[str]:
        """The ranked models that could not take this request now (for the decision
        endpoints), without charging anything."""
        tokens = 0
        out = []
        for model in models:
            provider = self._providers.get(model)
            applied: list[Applied] = (
                self._limiter.applied(provider, headers) if provider is not None else []
            )
            if not applied:
                continue
            tokens = tokens or await self._estimate(parsed, body)
            if min(await self._limiter.available(applied)) < tokens:
                out.append(model)
        return out

    async def _estimate(self, parsed: ParsedRequest, body: bytes) -> int:
        return await self._offload.run(body, estimate_prompt_tokens, parsed)

    async def correct(self, charge: Charge, used: int, answered_by: str | None = None) -> None:
        """Brings the charge's buckets to `used` tokens; when one of its alternates answered
        (`answered_by`), gives the charge back and counts `used` on that model's buckets."""
        moved_to = charge.alternate(answered_by) if answered_by != charge.model else None
        if moved_to is None or answered_by is None:
            self._count_used(charge.model, used)
            await self._corrections.add(charge.buckets, used - charge.tokens)
            return
        self._count_used(answered_by, used)
        await self._corrections.add(charge.buckets, -charge.tokens)
        await self._corrections.add(moved_to, used)

    def _count_used(self, model: str, used: int) -> None:
        """`model` comes from this service's own charge (a provider of the config, or one a
        wildcard entry serves, as the limiter bounds them)."""
        counter = self._used.get(model)
        if counter is None:
            counter = self._used[model] = RATELIMIT_USED.labels(model)
        counter.inc(used)

    async def drain(self) -> None:
        """Waits (at most CLOSE_TIMEOUT_SECONDS) for the corrections pending."""
        flushing = self._corrections.flushing
        if flushing is not None:
            await asyncio.wait({flushing}, timeout=CLOSE_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self.drain()
        await self._limiter.close()


def _moved(decision: Decision, candidates: list[ModelProvider], position: int) -> Decision:
    """A routed decision whose best models had no room: the model charged first, then the
    ranked ones after it, and `fallback: ratelimited`."""
    if position == 0:
        return decision
    models = tuple(c.name for c in candidates[position:])
    return dataclasses.replace(decision, models=models, fallback=Fallback.RATELIMITED)


def _limited(provider: ModelProvider, tokens: int, waits: list[float]) -> Denial:
    if not waits:
        message = (
            f"the request's about {tokens} prompt tokens exceed the rate limit of "
            f"'{provider.name}' on their own"
        )
        return Denial(429, ErrorKind.RATE_LIMIT, message, "ratelimit_exceeded")
    retry_after = max(1, math.ceil(min(waits)))
    message = f"rate limit of '{provider.name}' reached; retry in {retry_after} s"
    return Denial(429, ErrorKind.RATE_LIMIT, message, "ratelimit_exceeded", retry_after)


def observe_usage(
    charge: Charge | None, set_headers: list[HeaderValueOption], remove_headers: tuple[str, ...]
) -> tuple[str, ...]:
    """An untranslated request: with a rate-limit charge, its answer passes the usage filter
    (the usage header selects that route), which reads its usage to correct the charge.
    Client-sent copies of the headers that select a response filter are removed."""
    if charge is None:
        return (*remove_headers, TRANSLATE_HEADER, USAGE_HEADER)
    set_headers.append(set_header(USAGE_HEADER, "1"))
    return (*remove_headers, TRANSLATE_HEADER)


def budget_noted(decision: Decision, admitted: Admitted | Denial) -> Decision:
    """The decision as its span should show it: as admitted, with what was charged."""
    if isinstance(admitted, Denial):
        return dataclasses.replace(decision, budget=BudgetCheck(LIMITED))
    if admitted.charge is None:
        return admitted.decision
    return dataclasses.replace(
        admitted.decision, budget=BudgetCheck(CHARGED, admitted.charge.tokens)
    )


def budget_checked(decision: Decision, out_of_budget: list[str]) -> Decision:
    return dataclasses.replace(
        decision, budget=BudgetCheck(CHECKED, out_of_budget=tuple(out_of_budget))
    )


def record_charge(metadata: Struct, charge: Charge | None) -> None:
    if charge is not None:
        set_strings(metadata, {CHARGE_KEY: charge.to_json()})
